"""cnnlab.explain against independent references: finite differences, Grad-CAM by hand on a split model,
a brute-force occlusion loop, FGSM's formula, and gradient ascent that really raises the activation."""
from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from cnnlab import explain

CUDA = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")


def tiny(dtype=torch.float64, seed=0) -> nn.Sequential:
    """conv-BN-ReLU-conv-ReLU, global average pool, linear: 3 classes; BN makes train and eval mode differ."""
    torch.manual_seed(seed)
    model = nn.Sequential(nn.Conv2d(2, 3, 3, padding=1), nn.BatchNorm2d(3), nn.ReLU(),
                          nn.Conv2d(3, 4, 3, padding=1), nn.ReLU(),
                          nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(4, 3)).to(dtype)
    with torch.no_grad():  # running statistics away from 0/1, so eval mode really differs from train mode
        model[1].running_mean.uniform_(-0.5, 0.5)
        model[1].running_var.uniform_(0.5, 2.0)
    return model


def images(n=2, c=2, h=5, w=6, dtype=torch.float64, seed=1) -> torch.Tensor:
    return torch.rand(n, c, h, w, generator=torch.Generator().manual_seed(seed)).to(dtype)


def _modes(model):
    return [m.training for m in model.modules()]


# ----------------------------------------------------------------------------- saliency
def test_input_gradient_equals_central_finite_differences(one_thread):
    model, x = tiny(), images()
    model.train()
    target = torch.tensor([2, 0])
    grad = explain.input_gradient(model, x, target)
    model.eval()
    h, fd = 1e-6, torch.zeros_like(x)
    with torch.no_grad():
        for idx in torch.cartesian_prod(*(torch.arange(s) for s in x.shape)).tolist():
            step = torch.zeros_like(x)
            step[tuple(idx)] = h
            n = idx[0]
            up, down = model(x + step)[n, target[n]], model(x - step)[n, target[n]]
            fd[tuple(idx)] = (up - down) / (2 * h)
    torch.testing.assert_close(grad, fd, rtol=1e-6, atol=1e-8)
    assert grad.abs().max() > 1e-3  # the gradient is not trivially zero


def test_saliency_is_the_max_absolute_gradient_over_channels_of_the_predicted_class():
    model, x = tiny(), images()
    with torch.no_grad():
        predicted = model.eval()(x).argmax(1)
    sal = explain.saliency_map(model, x)
    ref = explain.input_gradient(model, x, predicted).abs().amax(1)
    assert sal.shape == (2, 5, 6)
    torch.testing.assert_close(sal, ref)
    # the probability score is the chain rule through softmax: d p_t/dx = p_t * (dz_t/dx - sum_k p_k dz_k/dx)
    with torch.no_grad():
        p = model(x).softmax(1)
    grads = torch.stack([explain.input_gradient(model, x, k) for k in range(3)], 1)  # [N, K, C, H, W]
    t = predicted
    pt = p[torch.arange(2), t][:, None, None, None]
    expected = pt * (grads[torch.arange(2), t] - (p[:, :, None, None, None] * grads).sum(1))
    torch.testing.assert_close(explain.input_gradient(model, x, score="prob"), expected)


def test_model_mode_and_parameter_gradients_are_left_alone():
    model, x = tiny(), images()
    model.train()
    model[1].eval()  # a mixed state must come back exactly
    before = _modes(model)
    explain.saliency_map(model, x)
    explain.grad_cam(model, x, model[3])
    explain.occlusion_map(model, x, patch=2)
    explain.fgsm(model, x, torch.tensor([0, 1]), 0.1)
    explain.visualize_channels(model, model[3], [0, 1], (2, 5, 6), steps=2)
    assert _modes(model) == before
    assert all(p.grad is None for p in model.parameters())
    assert all(not m._forward_hooks for m in model.modules())


def test_bad_inputs_get_clear_errors():
    model = tiny()
    with pytest.raises(ValueError, match=r"\[N, C, H, W\].*x\[None\]"):
        explain.saliency_map(model, images()[0])
    with pytest.raises(TypeError, match="floating-point"):
        explain.saliency_map(model, torch.zeros(1, 2, 5, 6, dtype=torch.long))
    with pytest.raises(ValueError, match=r"target classes must be in 0\.\.2"):
        explain.saliency_map(model, images(), target=3)
    with pytest.raises(ValueError, match="one target class per image"):
        explain.saliency_map(model, images(), target=[0, 1, 2])
    with pytest.raises(ValueError, match="no layer 'stages.9'"):
        explain.grad_cam(model, images(), "stages.9")
    with pytest.raises(ValueError, match="score must be one of"):
        explain.occlusion_map(model, images(), score="probability")


# ----------------------------------------------------------------------------- Grad-CAM
def test_grad_cam_equals_the_hand_computation_on_the_split_model():
    model, x = tiny(), images(n=3, seed=4)
    model.eval()
    features, head = model[:5], model[5:]  # the layer explained is model[4] (the second ReLU)
    acts = features(x).detach().requires_grad_(True)
    logits = head(acts)
    t = logits.argmax(1)
    (grads,) = torch.autograd.grad(logits[torch.arange(3), t].sum(), acts)
    alpha = grads.mean((2, 3))
    by_hand = torch.relu((alpha[:, :, None, None] * acts.detach()).sum(1))

    parts = explain.grad_cam_parts(model, x, "4")
    torch.testing.assert_close(parts.activations, acts.detach())
    torch.testing.assert_close(parts.gradients, grads)
    torch.testing.assert_close(parts.weights, alpha)
    torch.testing.assert_close(parts.cam, by_hand)
    assert torch.equal(parts.targets, t)
    assert parts.cam.max() > 0
    # with global average pooling and a linear head, Grad-CAM is CAM: relu(sum_k W[c, k] A_k) / (h w)
    w = model[7].weight.detach()
    cam = torch.relu(torch.einsum("nk,nkhw->nhw", w[t], acts.detach())) / (5 * 6)
    torch.testing.assert_close(parts.cam, cam)


def test_grad_cam_upsamples_a_coarse_layer_bilinearly_and_removes_its_hook_on_errors():
    torch.manual_seed(0)
    model = nn.Sequential(nn.Conv2d(1, 4, 3, stride=2, padding=1), nn.ReLU(), nn.AdaptiveAvgPool2d(1),
                          nn.Flatten(), nn.Linear(4, 2)).double()
    x = images(n=2, c=1, h=8, w=8)
    parts = explain.grad_cam_parts(model, x, model[1], target=1)
    assert parts.cam.shape == (2, 4, 4) and torch.equal(parts.targets, torch.tensor([1, 1]))
    ref = F.interpolate(parts.cam[:, None], size=(8, 8), mode="bilinear", align_corners=False)[:, 0]
    torch.testing.assert_close(explain.grad_cam(model, x, model[1], target=1), ref)
    assert explain.grad_cam(model, x, model[1], upsample=False).shape == (2, 4, 4)
    with pytest.raises(ValueError, match=r"target classes must be in 0\.\.1"):
        explain.grad_cam(model, x, model[1], target=5)
    with pytest.raises(ValueError, match=r"output is \[N, K, h, w\]"):
        explain.grad_cam(model, x, model[3])
    assert not model[1]._forward_hooks and not model[3]._forward_hooks


# ----------------------------------------------------------------------------- occlusion
def test_patch_positions_cover_every_pixel():
    assert explain.patch_positions(16, 4, 2) == [0, 2, 4, 6, 8, 10, 12]
    assert explain.patch_positions(16, 5, 3) == [0, 3, 6, 9, 11]  # the last position is added
    assert explain.patch_positions(4, 4, 9) == [0]
    with pytest.raises(ValueError, match="between 1 and the image side"):
        explain.patch_positions(4, 5, 1)


@pytest.mark.parametrize("patch, stride, score", [(2, 1, "logit"), (3, 2, "prob")])
def test_occlusion_equals_a_brute_force_loop(patch, stride, score):
    model, x = tiny(), images(n=2, h=5, w=6, seed=7)
    model.eval()
    fill = 0.25
    with torch.no_grad():
        logits = model(x)
        t = logits.argmax(1)
        value = (lambda z: z.softmax(1)) if score == "prob" else (lambda z: z)
        base = value(logits)[torch.arange(2), t]
        total, count = torch.zeros(2, 5, 6, dtype=x.dtype), torch.zeros(5, 6, dtype=x.dtype)
        tops = sorted(set(range(0, 5 - patch + 1, stride)) | {5 - patch})
        lefts = sorted(set(range(0, 6 - patch + 1, stride)) | {6 - patch})
        for top in tops:
            for left in lefts:
                for n in range(2):
                    y = x[n].clone()
                    y[:, top:top + patch, left:left + patch] = fill
                    drop = base[n] - value(model(y[None]))[0, t[n]]
                    total[n, top:top + patch, left:left + patch] += drop
                count[top:top + patch, left:left + patch] += 1
    got = explain.occlusion_map(model, x, patch=patch, stride=stride, fill=fill, score=score, batch_size=5)
    torch.testing.assert_close(got, total / count)
    assert got.abs().max() > 0


# ----------------------------------------------------------------------------- FGSM
def test_fgsm_moves_every_pixel_by_eps_times_the_sign_of_the_loss_gradient():
    model, x = tiny(), images(n=3, seed=2)
    y = torch.tensor([0, 2, 1])
    model.eval()
    xr = x.clone().requires_grad_(True)
    (g,) = torch.autograd.grad(F.cross_entropy(model(xr), y), xr)
    adv = explain.fgsm(model, x, y, 0.05, clamp=None)
    torch.testing.assert_close(adv - x, 0.05 * g.sign(), rtol=0, atol=1e-15)
    clamped = explain.fgsm(model, x, y, 0.05)
    torch.testing.assert_close(clamped, (x + 0.05 * g.sign()).clamp(0, 1))
    torch.testing.assert_close(explain.fgsm(model, x, y, 0.0), x)
    with pytest.raises(ValueError, match="one label per image"):
        explain.fgsm(model, x, y[:2], 0.1)
    with pytest.raises(ValueError, match="eps must be >= 0"):
        explain.fgsm(model, x, y, -0.1)


@pytest.mark.slow
def test_fgsm_lowers_the_accuracy_of_a_trained_network(one_thread):
    from cnnlab import pretrained
    from cnnlab.data.digits import load_digits_tensors

    model = pretrained.load("digits04_resnet")
    x, y = load_digits_tensors("test", size=16, classes=(0, 1, 2, 3, 4))
    clean, weak, strong = explain.accuracy_under_attack(model, x, y, [0.0, 0.05, 0.2], batch_size=64)
    with torch.no_grad():
        assert clean == pytest.approx((model(x).argmax(1) == y).double().mean().item())
    assert clean > 0.9
    assert clean > weak > strong and strong < 0.5
    # random signs of the same size hurt far less than the gradient's signs
    noise = torch.randint(0, 2, x.shape, generator=torch.Generator().manual_seed(0)).to(x.dtype) * 2 - 1
    with torch.no_grad():
        random = (model((x + 0.2 * noise).clamp(0, 1)).argmax(1) == y).double().mean().item()
    assert random > strong + 0.3


# ----------------------------------------------------------------------------- feature visualisation
def test_gradient_ascent_raises_the_channel_activation():
    model = tiny()
    model.train()
    vis = explain.visualize_channels(model, model[3], 2, shape=(2, 5, 6), steps=20, lr=0.05)
    assert vis.activations.shape == (21, 1) and vis.images.shape == (1, 2, 5, 6) and vis.channels == [2]
    assert vis.images.min() >= 0 and vis.images.max() <= 1
    first, last = vis.activations[0, 0].item(), vis.activations[-1, 0].item()
    assert last > 1.5 * first > 0
    assert model[0].training  # put back
    model.eval()
    with torch.no_grad():
        again = model[:4](vis.images)[:, 2].mean().item()
        random = model[:4](images(n=500, seed=3))[:, 2].mean((1, 2))  # 500 random images in [0, 1]
    assert again == pytest.approx(last)
    assert again > random.max()  # the ascent found a better image than any of them
    with pytest.raises(ValueError, match="channel 7 does not exist"):
        explain.visualize_channels(model, model[3], [1, 7], shape=(2, 5, 6), steps=1)
    with pytest.raises(ValueError, match=r"start must have shape \(2, 2, 5, 6\)"):
        explain.visualize_channels(model, model[3], [1, 2], shape=(2, 5, 6), start=torch.zeros(1, 2, 5, 6))
    assert not model[3]._forward_hooks


def test_a_batch_of_channels_equals_one_run_per_channel():
    model = tiny()
    start = images(n=3, h=5, w=6, seed=9)
    together = explain.visualize_channels(model, "3", [0, 2, 1], (2, 5, 6), steps=5, start=start, blur=0.7)
    for b, ch in enumerate([0, 2, 1]):
        alone = explain.visualize_channels(model, "3", ch, (2, 5, 6), steps=5, start=start[b:b + 1], blur=0.7)
        torch.testing.assert_close(together.images[b:b + 1], alone.images)
        torch.testing.assert_close(together.activations[:, b:b + 1], alone.activations)
    # a class score layer works too: climbing logit 1 makes class 1 more likely
    vis = explain.visualize_channels(model, model[7], 1, (2, 5, 6), steps=10)
    assert vis.activations[-1, 0] > vis.activations[0, 0]


def test_methods_follow_the_input_dtype():
    model, x = tiny(torch.float32), images(dtype=torch.float32)
    assert explain.saliency_map(model, x).dtype == torch.float32
    assert explain.grad_cam(model, x, model[4]).dtype == torch.float32
    assert explain.occlusion_map(model, x, patch=2).dtype == torch.float32
    assert explain.fgsm(model, x, torch.tensor([0, 1]), 0.1).dtype == torch.float32
    assert explain.visualize_channels(model, model[3], 0, (2, 5, 6), steps=1).images.dtype == torch.float32


@CUDA
def test_cuda_results_equal_the_cpu_ones():
    model, x = tiny(), images()
    y = torch.tensor([1, 2])
    cpu = [explain.saliency_map(model, x), explain.grad_cam(model, x, model[4]),
           explain.occlusion_map(model, x, patch=2), explain.fgsm(model, x, y, 0.1, clamp=None)]
    vis_cpu = explain.visualize_channels(model, model[3], [1, 3], (2, 5, 6), steps=3, blur=0.5)
    model.cuda()
    xc = x.cuda()
    gpu = [explain.saliency_map(model, xc), explain.grad_cam(model, xc, model[4]),
           explain.occlusion_map(model, xc, patch=2), explain.fgsm(model, xc, y.cuda(), 0.1, clamp=None)]
    for a, b in zip(cpu, gpu):
        assert b.device.type == "cuda"
        torch.testing.assert_close(b.cpu(), a)
    vis = explain.visualize_channels(model, model[3], [1, 3], (2, 5, 6), steps=3, blur=0.5)
    assert vis.images.device.type == "cuda"
    torch.testing.assert_close(vis.images.cpu(), vis_cpu.images)
    with pytest.raises(ValueError, match="is on cpu but the model is on cuda"):
        explain.saliency_map(model, x)


# ----------------------------------------------------------------------------- plots
def test_plots_draw_one_panel_per_image_and_method():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from cnnlab import plots

    x = images(n=2, c=1, h=4, w=4, dtype=torch.float32)
    signed = torch.tensor([[[0.5, -0.5], [0.0, 1.0]]]).repeat(2, 1, 1)
    fig = plots.plot_explanations(x, {"a": torch.rand(2, 4, 4), "b": signed}, titles=["0", "1"], overlay=True)
    axes = fig.axes
    assert len(axes) == 6 and axes[0].get_title() == "0" and axes[1].get_title() == "a"
    assert axes[2].images[-1].get_cmap().name == "RdBu_r" and axes[1].images[-1].get_cmap().name == "inferno"
    assert axes[2].images[-1].get_clim() == (-1.0, 1.0)  # signed maps are centred on 0
    ax = plots.plot_accuracy_vs_epsilon([0, 0.1], {"FGSM": [0.9, 0.5], "random": [0.9, 0.88]}, chance=0.2)
    assert [list(line.get_ydata()) for line in ax.lines[:2]] == [[0.9, 0.5], [0.9, 0.88]]
    fig2 = plots.plot_adversarial_example(x[0], (x[0] + 0.1).clamp(0, 1), "3 (99%)", "5 (80%)")
    assert [a.get_title() for a in fig2.axes][::2] == ["3 (99%)", "5 (80%)"]
    fig3 = plots.plot_feature_visualizations([x[:1], None, x[1]], ["u", "", "v"], rows=1)
    assert [a.get_title() for a in fig3.axes] == ["u", "", "v"] and not fig3.axes[1].axison
    plt.close("all")
