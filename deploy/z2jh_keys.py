"""Check deploy/values.yaml against a Zero to JupyterHub chart's values schema; list the keys it uses.

    python deploy/z2jh_keys.py CHART_DIR [--write deploy/z2jh-4.4.0-keys.txt]

CHART_DIR is the chart's folder (``jupyterhub/`` of github.com/jupyterhub/zero-to-jupyterhub-k8s at
the tag, or ``helm pull jupyterhub/jupyterhub --version 4.4.0 --untar``). As Helm does, the chart's
own values.yaml is merged under ours (maps merge, lists replace) and the result is validated against
values.schema.yaml. ``--write`` records every key path of our values.yaml that the schema checks
(down to where the schema stops checking: free-form sections are marked ``*``); tests/hub keeps
values.yaml within that list, so a key that is not in the chart fails without the chart at hand.
"""
from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

import yaml

HERE = Path(__file__).resolve().parent


def merge(defaults, ours):
    """Helm's merge of --values into the chart's defaults: maps merge, anything else replaces."""
    if isinstance(defaults, dict) and isinstance(ours, dict):
        out = dict(defaults)
        for key, value in ours.items():
            out[key] = merge(defaults.get(key), value) if key in defaults else value
        return out
    return ours


def key_paths(values, schema, prefix: str = "") -> list[str]:
    """Key paths of ``values`` that ``schema`` names; a path ending in `` *`` is free-form below."""
    out = []
    if not isinstance(values, dict):
        return out
    props = schema.get("properties", {}) if isinstance(schema, dict) else {}
    for key, value in values.items():
        path = f"{prefix}{key}"
        if key in props:
            sub = props[key]
            free = not sub.get("properties") and sub.get("additionalProperties", True) is not False
            if free or not isinstance(value, dict):
                out.append(path + (" *" if free and isinstance(value, dict) else ""))
            else:
                out.append(path)
                out += key_paths(value, sub, path + ".")
        else:
            pattern = next((s for p, s in (schema.get("patternProperties") or {}).items()
                            if re.match(p, key)), None)
            if pattern is not None or schema.get("additionalProperties", True) is not False:
                out.append(path + " *")  # allowed by a pattern or by additionalProperties
            else:
                out.append(path + " !unknown")
    return out


def main(argv: list[str] | None = None) -> int:
    import jsonschema

    parser = argparse.ArgumentParser()
    parser.add_argument("chart", type=Path)
    parser.add_argument("--values", type=Path, default=HERE / "values.yaml")
    parser.add_argument("--write", type=Path)
    parser.add_argument("--chart-version", help="the tag, where Chart.yaml holds a placeholder (git checkouts)")
    args = parser.parse_args(argv)
    schema = yaml.safe_load((args.chart / "values.schema.yaml").read_text())
    chart = yaml.safe_load((args.chart / "Chart.yaml").read_text())
    chart["version"] = args.chart_version or chart["version"]
    defaults = yaml.safe_load((args.chart / "values.yaml").read_text())
    ours = yaml.safe_load(args.values.read_text())
    errors = sorted(jsonschema.Draft7Validator(schema).iter_errors(merge(defaults, ours)), key=lambda e: e.path)
    for e in errors:
        print(f"{'.'.join(map(str, e.path)) or '<root>'}: {e.message[:300]}", file=sys.stderr)
    paths = key_paths(ours, schema)
    unknown = [p for p in paths if p.endswith("!unknown")]
    print(f"chart {chart['version']} (appVersion {chart.get('appVersion')}): "
          f"{len(errors)} schema errors, {len(paths)} keys, {len(unknown)} unknown {unknown}")
    if args.write and not errors and not unknown:
        args.write.write_text(f"# Zero to JupyterHub chart {chart['version']} (JupyterHub {chart.get('appVersion')}): "
                              "key paths of deploy/values.yaml found in its values.schema.yaml\n"
                              "# (written by deploy/z2jh_keys.py; ' *' = the schema leaves what is below free-form)\n"
                              + "\n".join(paths) + "\n")
    return 1 if errors or unknown else 0


if __name__ == "__main__":
    sys.exit(main())
