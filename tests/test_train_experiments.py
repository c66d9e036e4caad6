"""Multi-seed experiments: reproducible per seed, different across seeds, statistics computed by hand."""
from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import numpy as np
import pytest
import torch
from torch.utils.data import DataLoader, TensorDataset

from cnnlab.train import History
from cnnlab.plots import plot_runs
from cnnlab.train.experiments import RunStats, curves, describe, final_stats, repeat_runs


def _loaders():
    g = torch.Generator().manual_seed(0)
    x = torch.randn(64, 4, generator=g)
    y = (x[:, 0] > 0).long()
    ds = TensorDataset(x, y)
    return DataLoader(ds, batch_size=16, shuffle=True, generator=torch.Generator()), DataLoader(ds, batch_size=64)


def _model():
    return torch.nn.Sequential(torch.nn.Linear(4, 8), torch.nn.ReLU(), torch.nn.Linear(8, 2))


def test_same_seed_repeats_and_other_seeds_differ():
    train, val = _loaders()
    a = repeat_runs(_model, train, val, seeds=[0, 1], epochs=2, device="cpu")
    b = repeat_runs(_model, train, val, seeds=[0], epochs=2, device="cpu")
    assert len(a) == 2 and a[0].epochs == 2
    assert a[0].train_loss == b[0].train_loss
    assert a[0].train_loss != a[1].train_loss


def test_statistics_by_hand():
    hs = [History(val_acc=[0.5, v]) for v in (0.8, 0.9, 1.0)]
    s = final_stats(hs, "val_acc")
    assert s == RunStats(pytest.approx(0.9), pytest.approx(0.1), 0.8, 1.0, 3)
    assert describe(s) == "0.900 ± 0.100 (0.800–1.000, 3 runs)"
    assert describe(s, percent=True) == "90.0 ± 10.0 % (80.0–100.0, 3 runs)"
    assert final_stats(hs[:1]).std == 0.0


def test_curves_cut_to_the_shortest_run():
    hs = [History(train_loss=[3.0, 2.0, 1.0]), History(train_loss=[4.0, 2.0])]
    np.testing.assert_array_equal(curves(hs, "train_loss"), [[3.0, 2.0], [4.0, 2.0]])


def test_plot_draws_one_mean_line_per_group():
    hs = [History(train_loss=[2.0, 1.0]), History(train_loss=[3.0, 1.5])]
    ax = plot_runs({"a": hs, "b": hs[:1]}, "train_loss", log=True)
    assert len(ax.lines) == 2 and ax.get_yscale() == "log"
    np.testing.assert_allclose(ax.lines[0].get_ydata(), [2.5, 1.25])


@pytest.mark.parametrize("call,message", [
    (lambda: final_stats([], "val_acc"), "no runs"),
    (lambda: final_stats([History()], "val_acc"), "validation loader"),
    (lambda: final_stats([History(val_acc=[1.0])], "accuracy"), "metric must be one of"),
    (lambda: repeat_runs(_model, None, seeds=[]), "seeds is empty"),
    (lambda: repeat_runs(_model, None, seed=3), "seeds="),
])
def test_bad_input_is_explained(call, message):
    with pytest.raises(ValueError, match=message):
        call()
