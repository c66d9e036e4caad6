"""cnnlab.train.practice against independent references: manual forward passes and training loops,
closed-form schedules, numpy statistics; and fit's optimiser factory."""
from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

from cnnlab.train import evaluate, fit, practice
from cnnlab.train.experiments import RunStats


def _data(n=64, d=6, classes=3, seed=0):
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(n, d, generator=g)
    y = (x[:, 0] > 0).long() + (x[:, 1] > 0.5).long()
    return x, y[:n] % classes


def _mlp(d=6, hidden=16, classes=3):
    return nn.Sequential(nn.Linear(d, hidden), nn.ReLU(), nn.Linear(hidden, hidden), nn.ReLU(),
                         nn.Linear(hidden, classes))


# ------------------------------------------------------------------------------------------- tiny_cnn

def test_tiny_cnn_shape_and_parameter_count():
    net = practice.tiny_cnn(width=4)
    assert net(torch.zeros(3, 1, 8, 8)).shape == (3, 10)
    by_hand = (9 * 1 + 1) * 4 + (9 * 4 + 1) * 8 + (8 * 4 + 1) * 10
    assert sum(p.numel() for p in net.parameters()) == by_hand
    with pytest.raises(ValueError, match="width must be a positive int"):
        practice.tiny_cnn(width=0)


# ---------------------------------------------------------------------------------------- init_weights

def test_he_init_has_the_kaiming_std_and_zero_bias():
    torch.manual_seed(0)
    conv = nn.Conv2d(64, 128, 3)
    practice.init_weights(nn.Sequential(conv), "he")
    fan_in = 64 * 3 * 3
    assert conv.weight.std().item() == pytest.approx(math.sqrt(2 / fan_in), rel=0.02)
    assert torch.count_nonzero(conv.bias) == 0


def test_fixed_std_applies_to_every_conv_and_linear_layer():
    torch.manual_seed(0)
    net = nn.Sequential(nn.Conv2d(32, 64, 3), nn.ReLU(), nn.Flatten(), nn.Linear(400, 300))
    assert practice.init_weights(net, 0.05) is net
    for layer in (net[0], net[3]):
        assert layer.weight.std().item() == pytest.approx(0.05, rel=0.03)
        assert layer.weight.mean().abs().item() < 0.005


@pytest.mark.parametrize("std,message", [(0, "positive number or 'he'"), (-1.0, "positive number or 'he'"),
                                         ("xavier", "positive number or 'he'")])
def test_init_weights_rejects_bad_std(std, message):
    with pytest.raises(ValueError, match=message):
        practice.init_weights(_mlp(), std)


def test_init_weights_needs_a_weighted_layer():
    with pytest.raises(ValueError, match="no Conv or Linear layer"):
        practice.init_weights(nn.Sequential(nn.ReLU()), 0.1)


# ------------------------------------------------------------------------------------ activation_stats

def test_activation_stats_equal_a_manual_forward_pass():
    torch.manual_seed(0)
    net = _mlp()
    x, _ = _data()
    stats = practice.activation_stats(net, x)
    with torch.no_grad():
        a1 = torch.relu(net[0](x))
        a2 = torch.relu(net[2](a1))
    assert [s["name"] for s in stats] == ["1", "3"]
    for s, a in zip(stats, (a1, a2)):
        a = a.double().numpy()
        assert s["mean"] == pytest.approx(a.mean())
        assert s["std"] == pytest.approx(a.std())
        assert s["zero"] == pytest.approx((a == 0).mean())
        assert s["dead"] == pytest.approx((a == 0).all(axis=0).mean())


def test_a_unit_with_a_huge_negative_bias_is_dead():
    net = nn.Sequential(nn.Linear(4, 5), nn.ReLU())
    with torch.no_grad():
        net[0].weight.fill_(0.1)
        net[0].bias.copy_(torch.tensor([-100.0, -100.0, 0.0, 0.0, 0.0]))
    x = torch.rand(10, 4) + 0.1  # positive inputs: the three zero-bias units are always on
    assert practice.activation_stats(net, x)[0]["dead"] == pytest.approx(2 / 5)


def test_activation_stats_keeps_the_mode_and_removes_its_hooks():
    net = _mlp().eval()
    x, _ = _data()
    practice.activation_stats(net, x)
    assert not net.training
    assert all(not m._forward_hooks for m in net.modules())


@pytest.mark.parametrize("x,message", [(torch.zeros(1, 6), "N >= 2"), (torch.zeros(6), "N >= 2"),
                                       ([1.0, 2.0], "batch tensor")])
def test_activation_stats_rejects_bad_batches(x, message):
    with pytest.raises(ValueError, match=message):
        practice.activation_stats(_mlp(), x)


def test_activation_stats_needs_a_watched_layer():
    with pytest.raises(ValueError, match="no .* module to watch"):
        practice.activation_stats(nn.Sequential(nn.Linear(6, 2)), torch.zeros(3, 6))


# ---------------------------------------------------------------------------------------- lr_schedule

def test_lr_schedule_matches_the_closed_forms():
    step = practice.lr_schedule(lambda o: torch.optim.lr_scheduler.StepLR(o, step_size=3, gamma=0.5), 9, lr=0.8)
    np.testing.assert_allclose(step, [0.8 * 0.5 ** (i // 3) for i in range(9)])
    n = 20
    cosine = practice.lr_schedule(lambda o: torch.optim.lr_scheduler.CosineAnnealingLR(o, T_max=n), n, lr=1.0)
    np.testing.assert_allclose(cosine, [0.5 * (1 + math.cos(math.pi * i / n)) for i in range(n)], atol=1e-12)
    warm = practice.lr_schedule(lambda o: torch.optim.lr_scheduler.LinearLR(o, start_factor=0.1, total_iters=4), 6)
    np.testing.assert_allclose(warm, [0.1, 0.325, 0.55, 0.775, 1.0, 1.0])


def test_lr_schedule_rejects_bad_steps():
    with pytest.raises(ValueError, match="steps must be a positive int"):
        practice.lr_schedule(lambda o: torch.optim.lr_scheduler.StepLR(o, 1), 0)


# -------------------------------------------------------------------------------------- lr_range_test

def _batches(k=5, seed=0):
    x, y = _data(n=16 * k, seed=seed)
    return [(x[i * 16:(i + 1) * 16], y[i * 16:(i + 1) * 16]) for i in range(k)]


def test_range_test_lrs_are_geometric_and_losses_match_a_manual_loop():
    lr_min, lr_max, steps = 1e-4, 1e-1, 12
    torch.manual_seed(0)
    net = _mlp()
    start = {k: v.clone() for k, v in net.state_dict().items()}
    result = practice.lr_range_test(net, _batches(5), lr_min=lr_min, lr_max=lr_max, steps=steps,
                                    stop_factor=None, device="cpu")
    want_lrs = lr_min * (lr_max / lr_min) ** (np.arange(steps) / (steps - 1))
    np.testing.assert_allclose(result["lrs"], want_lrs, rtol=1e-12)
    np.testing.assert_allclose(np.diff(np.log(result["lrs"])), math.log(lr_max / lr_min) / (steps - 1), rtol=1e-9)

    reference = _mlp()
    reference.load_state_dict(start)
    opt = torch.optim.SGD(reference.parameters(), lr=lr_min, momentum=0.9)
    batches = _batches(5)
    losses = []
    for i in range(steps):  # the loader is cycled: batch i % 5
        xb, yb = batches[i % 5]
        for group in opt.param_groups:
            group["lr"] = want_lrs[i]
        opt.zero_grad()
        loss = nn.functional.cross_entropy(reference(xb), yb)
        loss.backward()
        opt.step()
        losses.append(loss.item())
    np.testing.assert_allclose(result["losses"], losses, rtol=1e-5)

    beta, avg, smoothed = 0.9, 0.0, []  # the bias-corrected moving average, by hand
    for i, value in enumerate(losses, start=1):
        avg = beta * avg + (1 - beta) * value
        smoothed.append(avg / (1 - beta ** i))
    np.testing.assert_allclose(result["smoothed"], smoothed, rtol=1e-5)


def test_range_test_stops_when_the_loss_diverges():
    torch.manual_seed(0)
    result = practice.lr_range_test(_mlp(), _batches(5), lr_min=1e-3, lr_max=1e4, steps=60, stop_factor=2.0,
                                    device="cpu")
    n = len(result["lrs"])
    assert 1 < n < 60
    assert len(result["losses"]) == len(result["smoothed"]) == n
    last = result["smoothed"][-1]
    assert not np.isfinite(result["losses"][-1]) or last > 2.0 * result["smoothed"][:-1].min()


def test_range_test_with_adam_and_a_factory():
    torch.manual_seed(0)
    a = practice.lr_range_test(_mlp(), _batches(3), steps=5, lr_max=1e-2, optimizer="adam", device="cpu")
    torch.manual_seed(0)
    b = practice.lr_range_test(_mlp(), _batches(3), steps=5, lr_max=1e-2, device="cpu",
                               optimizer=lambda p: torch.optim.Adam(p, lr=123.0))  # its lr is replaced
    np.testing.assert_allclose(a["losses"], b["losses"])
    np.testing.assert_allclose(a["lrs"], b["lrs"])


@pytest.mark.parametrize("kwargs,message", [
    (dict(lr_min=0.1, lr_max=0.01), "0 < lr_min < lr_max"), (dict(lr_min=0.0), "0 < lr_min < lr_max"),
    (dict(steps=1), "steps must be an int >= 2"), (dict(smooth=1.0), "smooth must be in"),
    (dict(optimizer="rmsprop"), "optimizer must be 'sgd', 'adam' or a factory"),
])
def test_range_test_rejects_bad_arguments(kwargs, message):
    with pytest.raises(ValueError, match=message):
        practice.lr_range_test(_mlp(), _batches(2), device="cpu", **kwargs)


def test_suggested_lr_is_the_lowest_smoothed_point_divided():
    result = {"lrs": np.array([1e-3, 1e-2, 1e-1, 1.0]), "smoothed": np.array([2.0, 1.5, 0.9, np.nan])}
    assert practice.suggested_lr(result) == pytest.approx(1e-2)
    assert practice.suggested_lr(result, divide_by=1) == pytest.approx(1e-1)
    with pytest.raises(ValueError, match="no finite loss"):
        practice.suggested_lr({"lrs": np.array([1.0]), "smoothed": np.array([np.inf])})


# ------------------------------------------------------------------------------- seed_runs, run_stats

def _loaders():
    x, y = _data(n=96)
    train = DataLoader(TensorDataset(x[:64], y[:64]), batch_size=16, shuffle=True, generator=torch.Generator())
    return train, DataLoader(TensorDataset(x[64:], y[64:]), batch_size=32)


def test_seed_runs_measure_both_splits_in_evaluation_mode():
    train, val = _loaders()
    make = lambda: nn.Sequential(nn.Linear(6, 32), nn.ReLU(), nn.Dropout(0.5), nn.Linear(32, 3))  # noqa: E731
    runs = practice.seed_runs(make, train, val, seeds=[0, 1], epochs=3, device="cpu")
    assert len(runs) == 2
    for seed, run in zip([0, 1], runs):
        assert run["history"].epochs == 3
        assert run["val_acc"] == pytest.approx(run["history"].val_acc[-1])  # fit's last evaluation: eval mode
        assert run["gap"] == pytest.approx(run["train_acc"] - run["val_acc"])
        torch.manual_seed(seed)  # the same run by hand
        model = make()
        fit(model, train, val, epochs=3, seed=seed, device="cpu", progress=False)
        by_hand = evaluate(model, train)
        assert run["train_loss"] == pytest.approx(by_hand["loss"])
        assert run["train_acc"] == pytest.approx(by_hand["accuracy"])
    assert runs[0]["train_loss"] != runs[1]["train_loss"]


@pytest.mark.parametrize("kwargs,message", [(dict(seeds=[]), "seeds is empty"),
                                            (dict(seeds=[0], seed=1), "seeds=\\[...\\], not seed")])
def test_seed_runs_rejects_bad_seeds(kwargs, message):
    train, val = _loaders()
    with pytest.raises(ValueError, match=message):
        practice.seed_runs(_mlp, train, val, epochs=1, **kwargs)


def test_run_stats_equal_numpy():
    values = [0.5, 0.8, 0.65, 0.9]
    v = np.array(values)
    assert practice.run_stats(values) == RunStats(pytest.approx(v.mean()), pytest.approx(v.std(ddof=1)), 0.5, 0.9, 4)
    assert practice.run_stats([0.3]).std == 0.0
    with pytest.raises(ValueError, match="no values"):
        practice.run_stats([])


# ------------------------------------------------------------------------------- fit's optimiser factory

def test_fit_builds_a_fresh_optimizer_from_a_factory():
    train, _ = _loaders()
    built = []

    def factory(params):
        built.append(torch.optim.SGD(params, lr=0.0))  # lr 0: the weights must not move
        return built[-1]

    torch.manual_seed(0)
    net = _mlp()
    before = [p.detach().clone() for p in net.parameters()]
    fit(net, train, epochs=1, optimizer=factory, device="cpu", progress=False)
    fit(net, train, epochs=1, optimizer=factory, device="cpu", progress=False)
    assert len(built) == 2 and built[0] is not built[1]
    assert [p.data_ptr() for p in built[0].param_groups[0]["params"]] == [p.data_ptr() for p in net.parameters()]
    assert all(torch.equal(a, b) for a, b in zip(before, net.parameters()))


def test_fit_rejects_a_factory_that_returns_no_optimizer():
    train, _ = _loaders()
    with pytest.raises(ValueError, match="factory must return a torch.optim.Optimizer, got list"):
        fit(_mlp(), train, epochs=1, optimizer=lambda params: list(params), device="cpu", progress=False)
