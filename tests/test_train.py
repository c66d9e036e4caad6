"""The training loop learns, repeats exactly on CPU, stops early, and checkpoints round-trip."""
from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402
from torch import nn  # noqa: E402

from cnnlab.data.digits import digits_loaders, load_digits_tensors  # noqa: E402
from cnnlab.models import lenet5  # noqa: E402
from cnnlab.plots import (  # noqa: E402
    plot_confusion_matrix, plot_feature_maps, plot_filters, plot_history, plot_misclassified,
)
from cnnlab.train import (  # noqa: E402
    CheckpointError, History, evaluate, fit, freeze, load_checkpoint, predict, replace_head, save_checkpoint,
    trainable_parameters, unfreeze,
)


def tiny_net():
    return nn.Sequential(nn.Conv2d(1, 8, 3, padding=1), nn.BatchNorm2d(8), nn.ReLU(), nn.MaxPool2d(2),
                         nn.Flatten(), nn.Linear(8 * 4 * 4, 10))


@pytest.fixture(scope="module")
def loaders():
    return digits_loaders(batch_size=64)  # 8x8 digits: fast


def test_fit_learns_and_history_is_plain(loaders):
    train, val, test = loaders
    torch.manual_seed(0)
    model = tiny_net()
    before = evaluate(model, test, device="cpu")["accuracy"]
    h = fit(model, train, val, epochs=4, lr=5e-3, device="cpu", progress=False)
    after = evaluate(model, test)
    assert isinstance(h, History) and h.epochs == 4 and len(h.val_acc) == 4 and len(h.seconds) == 4
    assert after["accuracy"] > 0.85 > before
    assert h.train_loss[-1] < h.train_loss[0]
    assert set(h.as_dict()) >= {"train_loss", "train_acc", "val_loss", "val_acc", "best_epoch"}


def test_fit_is_reproducible_on_cpu(loaders):
    train, val, _ = loaders
    runs = []
    for _ in range(2):
        torch.manual_seed(123)  # different init seed each time is overridden by fit's seed
        model = tiny_net()
        torch.manual_seed(0)
        model = tiny_net()
        runs.append((fit(model, train, val, epochs=2, device="cpu", seed=7, progress=False), model))
    assert runs[0][0].train_loss == runs[1][0].train_loss
    for a, b in zip(runs[0][1].parameters(), runs[1][1].parameters()):
        assert torch.equal(a, b)


def test_early_stopping_restores_best(loaders):
    train, val, _ = loaders
    torch.manual_seed(0)
    model = tiny_net()
    # a huge learning rate makes the validation loss get worse quickly
    h = fit(model, train, val, epochs=30, lr=0.5, optimizer="sgd", patience=2, device="cpu", progress=False)
    assert h.stopped_early and h.epochs < 30
    assert h.epochs - 1 - h.best_epoch == 2
    assert evaluate(model, val)["loss"] == pytest.approx(h.val_loss[h.best_epoch], rel=1e-5)


def test_fit_rejects_bad_arguments(loaders):
    train, _, _ = loaders
    with pytest.raises(ValueError, match="pass a val_loader"):
        fit(tiny_net(), train, epochs=1, patience=2, progress=False)
    with pytest.raises(ValueError, match="epochs must be a positive int"):
        fit(tiny_net(), train, epochs=0, progress=False)
    with pytest.raises(ValueError, match="optimizer must be"):
        fit(tiny_net(), train, epochs=1, optimizer="rmsprop", progress=False)
    frozen = tiny_net()
    freeze(frozen)
    with pytest.raises(ValueError, match="no trainable parameters"):
        fit(frozen, train, epochs=1, progress=False)


def test_augment_hook_sees_each_training_batch(loaders):
    train, _, _ = loaders
    seen = []
    fit(tiny_net(), train, epochs=1, device="cpu", progress=False, augment=lambda x: seen.append(len(x)) or x)
    assert sum(seen) == len(train.dataset)


def test_checkpoint_round_trip_and_errors(tmp_path, loaders):
    train, val, _ = loaders
    torch.manual_seed(0)
    model = tiny_net()
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    h = fit(model, train, val, epochs=1, optimizer=opt, device="cpu", progress=False)
    path = save_checkpoint(tmp_path / "run" / "tiny.pt", model, opt, h, note="unit test")
    clone = tiny_net()
    opt2 = torch.optim.Adam(clone.parameters(), lr=1e-3)
    info = load_checkpoint(path, clone, opt2)
    for a, b in zip(model.state_dict().values(), clone.state_dict().values()):
        assert torch.equal(a, b)
    assert info["history"] == h and info["extra"] == {"note": "unit test"}
    assert opt2.state_dict()["state"].keys() == opt.state_dict()["state"].keys()

    with pytest.raises(FileNotFoundError, match="no checkpoint at"):
        load_checkpoint(tmp_path / "nope.pt", clone)
    broken = tmp_path / "broken.pt"
    broken.write_bytes(path.read_bytes()[:200])
    with pytest.raises(CheckpointError, match="not a readable checkpoint"):
        load_checkpoint(broken, clone)
    with pytest.raises(CheckpointError, match="do not fit this LeNet5"):
        load_checkpoint(path, lenet5())
    wider = nn.Sequential(nn.Conv2d(1, 8, 3, padding=1), nn.BatchNorm2d(8), nn.ReLU(), nn.MaxPool2d(2),
                          nn.Flatten(), nn.Linear(8 * 4 * 4, 5))
    with pytest.raises(CheckpointError, match=r"shape mismatch: 5.weight: file \(10, 128\) vs model \(5, 128\)"):
        load_checkpoint(path, wider)


def test_freeze_unfreeze_and_new_head():
    model = lenet5()
    model.fc = model.classifier[-1]  # expose the head under the usual name
    freeze(model)
    assert trainable_parameters(model) == 0
    head = replace_head(model, 5, attribute="classifier")
    assert trainable_parameters(model) == 84 * 5 + 5 and head.out_features == 5
    net = tiny_net()
    freeze(net)
    net.train()
    assert not net[1].training  # a frozen batch norm stays in eval mode
    unfreeze(net)
    net.train()
    assert net[1].training and trainable_parameters(net) == sum(p.numel() for p in net.parameters())
    with pytest.raises(ValueError, match="expected the final nn.Linear head"):
        replace_head(net, 3, attribute="nothing")


def test_plots_render(loaders):
    _, _, test = loaders
    torch.manual_seed(0)
    model = tiny_net()
    out = predict(model, test)
    assert out["images"].shape == (360, 1, 8, 8) and out["probs"].shape == (360, 10)
    x, _ = load_digits_tensors("test")
    figs = [plot_history(History([1.0, 0.5], [0.5, 0.8], [1.1, 0.7], [0.4, 0.7], [1e-3] * 2, [0.1] * 2, 1)),
            plot_confusion_matrix(out["y_true"], out["y_pred"]),
            plot_misclassified(out["images"], out["y_true"], out["y_pred"], probs=out["probs"]),
            plot_filters(model), plot_feature_maps(model, x[0])]
    cm_fig = figs[1]
    assert f"on {len(out['y_true'])} images" in cm_fig.axes[0].get_title()
    assert len([a for a in figs[3].axes if a.images]) == 8
    for f in figs:
        plt.close(f)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")
def test_training_runs_on_gpu(loaders):
    train, val, _ = loaders
    model = tiny_net()
    h = fit(model, train, val, epochs=2, device="cuda", progress=False)
    assert next(model.parameters()).device.type == "cuda"
    assert h.val_acc[-1] > 0.5


def test_fit_restores_the_thread_setting(loaders):
    train, _, _ = loaders
    before = torch.get_num_threads()
    torch.set_num_threads(2)
    try:
        fit(tiny_net(), [next(iter(train))], epochs=1, device="cpu", progress=False, cpu_threads=1)
        assert torch.get_num_threads() == 2
    finally:
        torch.set_num_threads(before)


def test_scheduler_steps_per_epoch_or_per_batch():
    x, y = torch.randn(12, 1, 8, 8), torch.randint(0, 10, (12,))
    batches = [(x[k:k + 4], y[k:k + 4]) for k in (0, 4, 8)]  # 3 batches per epoch

    def halve(opt):
        return torch.optim.lr_scheduler.StepLR(opt, step_size=1, gamma=0.5)

    per_epoch = fit(tiny_net(), batches, epochs=2, lr=0.1, scheduler=halve, progress=False, device="cpu")
    per_batch = fit(tiny_net(), batches, epochs=2, lr=0.1, scheduler=halve, scheduler_interval="step",
                    progress=False, device="cpu")
    # lr is recorded at the end of each epoch, before an epoch-wise step
    np.testing.assert_allclose(per_epoch.lr, [0.1, 0.05])
    np.testing.assert_allclose(per_batch.lr, [0.1 * 0.5 ** 3, 0.1 * 0.5 ** 6])
    with pytest.raises(ValueError, match="scheduler_interval must be 'epoch' or 'step'"):
        fit(tiny_net(), batches, epochs=1, scheduler=halve, scheduler_interval="batch", progress=False)


def test_fit_takes_tuple_outputs_and_targets_and_transforms_batches():
    class TwoHeads(nn.Module):
        def __init__(self):
            super().__init__()
            self.body = nn.Linear(4, 8)
            self.cls, self.reg = nn.Linear(8, 3), nn.Linear(8, 2)

        def forward(self, x):
            h = torch.relu(self.body(x))
            return self.cls(h), self.reg(h)

    x = torch.randn(16, 4)
    labels, values = torch.randint(0, 3, (16,)), torch.randn(16, 2)
    seen = []

    def loss_fn(output, target):
        (logits, pred), (lab, val) = output, target
        return nn.functional.cross_entropy(logits, lab) + nn.functional.mse_loss(pred, val)

    def flip_sign(xb, yb):
        seen.append(xb.shape[0])
        return -xb, yb

    h = fit(TwoHeads(), [(x[:8], (labels[:8], values[:8])), (x[8:], (labels[8:], values[8:]))], epochs=3,
            loss_fn=loss_fn, transform_batch=flip_sign, progress=False, device="cpu")
    assert seen == [8, 8] * 3 and len(h.train_loss) == 3
    assert all(np.isnan(a) for a in h.train_acc)  # accuracy is undefined for a (logits, box) output


def _bn_dropout_net():
    torch.manual_seed(0)
    net = nn.Sequential(nn.Linear(4, 6), nn.BatchNorm1d(6), nn.ReLU(), nn.Dropout(0.5), nn.Linear(6, 3))
    net.train()
    net(torch.randn(32, 4))  # move the running statistics away from their initial values
    return net


def test_infer_is_eval_mode_batched_and_restores_the_mode():
    from cnnlab.train import infer

    net, x = _bn_dropout_net(), torch.randn(10, 4)
    # independent reference: PyTorch's eval-mode forward on the whole batch at once
    net.eval()
    with torch.no_grad():
        reference = net(x)
    net.train()
    out = infer(net, x, batch_size=3)  # batches of 3, 3, 3, 1: BatchNorm must use running stats
    torch.testing.assert_close(out, reference)
    assert net.training and not out.requires_grad and out.device.type == "cpu"
    net.eval()
    infer(net, x)
    assert not net.training  # a model that was in eval mode stays there
    argmax = infer(net, x, lambda m, xb: m(xb).argmax(1), batch_size=4)
    assert torch.equal(argmax, reference.argmax(1))


def test_infer_restores_the_mode_when_the_forward_raises():
    from cnnlab.train import infer

    net = _bn_dropout_net()

    def broken(m, xb):
        assert not m.training and not torch.is_grad_enabled()
        raise RuntimeError("boom")

    with pytest.raises(RuntimeError, match="boom"):
        infer(net, torch.randn(5, 4), broken)
    assert net.training and torch.is_grad_enabled()


@pytest.mark.parametrize("inputs,kwargs,message", [
    ([1.0, 2.0], {}, "must be a tensor"),
    (torch.zeros(0, 4), {}, "empty"),
    (torch.zeros(3, 4), {"batch_size": 0}, "positive integer"),
])
def test_infer_rejects_bad_input(inputs, kwargs, message):
    from cnnlab.train import infer

    with pytest.raises(ValueError, match=message):
        infer(_bn_dropout_net(), inputs, **kwargs)


def test_evaluate_and_predict_restore_the_training_mode(loaders):
    _, _, test = loaders
    model = tiny_net()
    model.train()
    evaluate(model, test)
    predict(model, test)
    assert model.training


def test_one_cycle_is_torchs_one_cycle_with_the_warm_up_share_given():
    from cnnlab.train import one_cycle

    def rates(make_scheduler) -> list[float]:
        opt = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=0.1)
        sched, seen = make_scheduler(opt), []
        for _ in range(20):
            opt.step()
            sched.step()
            seen.append(opt.param_groups[0]["lr"])
        return seen

    ours = rates(one_cycle(0.1, 21, pct_start=0.15))
    assert ours == rates(lambda o: torch.optim.lr_scheduler.OneCycleLR(o, max_lr=0.1, total_steps=21, pct_start=0.15))
    default = rates(one_cycle(0.1, 21))  # torch's default warm-up share, 0.3
    assert ours.index(max(ours)) < 21 * 0.15 < default.index(max(default))  # the peak comes earlier
