"""Each lecture-08 model learns a tiny batch by heart (a few dozen optimizer steps on the CPU)."""
from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

from cnnlab.beyond import mean_iou, pck
from cnnlab.beyond.captioning import CaptionNet, caption_scores, greedy_captions
from cnnlab.beyond.gan import Discriminator, Generator, train_gan
from cnnlab.beyond.pose import HeatmapLoss, PoseNet, heatmap_peaks, keypoint_targets, predict_keypoints
from cnnlab.beyond.segmentation import TinyUNet, segmentation_data, segmentation_scores
from cnnlab.beyond.style import RandomFeatureNet, style_transfer
from cnnlab.beyond.verification import BatchHardTripletLoss, EmbeddingNet, embed
from cnnlab.data.captioned_scenes import CaptionedScenes
from cnnlab.data.faces import SyntheticFaces
from cnnlab.data.stick_figures import StickFigures


@pytest.fixture(autouse=True)
def _one_thread():
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    torch.manual_seed(0)
    yield
    torch.set_num_threads(before)


def _overfit(model, x, y, loss_fn, steps, lr=3e-3):
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    model.train()
    for _ in range(steps):
        opt.zero_grad()
        loss = loss_fn(model(x), y)
        loss.backward()
        opt.step()
    return loss.item()


def test_unet_overfits_a_tiny_batch():
    x, y, _ = segmentation_data("train", 4, image_size=16)
    model = TinyUNet(width=8)
    assert model(x).shape == (4, 5, 16, 16)
    _overfit(model, x, y, nn.CrossEntropyLoss(), 80, lr=1e-2)
    assert segmentation_scores(model, x, y)["pixel_accuracy"] > 0.95
    with pytest.raises(ValueError, match="divisible by 4"):
        model(torch.zeros(1, 3, 18, 18))


def test_embedding_net_separates_a_tiny_batch():
    d = SyntheticFaces(4, 4, seed=0)
    model = EmbeddingNet(dim=8, width=8)
    e = model(d.images)
    assert e.shape == (16, 8) and torch.allclose(e.norm(dim=1), torch.ones(16))
    loss = _overfit(model, d.images, d.labels, BatchHardTripletLoss(0.2), 60, lr=1e-2)
    assert loss < 0.05
    with pytest.raises(ValueError, match="positive in its batch"):
        BatchHardTripletLoss()(e, torch.arange(16))


def test_pose_net_overfits_a_tiny_batch():
    d = StickFigures("train", 4, image_size=16)
    model = PoseNet(width=8)
    target = keypoint_targets(d.keypoints, 16)
    assert model(d.images).shape == (4, 16 * 16, 11)
    _overfit(model, d.images, target, HeatmapLoss(16), 150, lr=1e-2)
    pred = predict_keypoints(model, d.images)
    assert pck(pred, d.keypoints, d.scales, 0.2) > 0.9


def test_heatmap_peak_and_targets_agree_by_hand():
    maps = torch.zeros(1, 2, 4, 5)
    maps[0, 0, 1, 3] = 1.0          # row 1, column 3
    maps[0, 1, 3, 0] = 1.0
    assert heatmap_peaks(maps).tolist() == [[[3.5, 1.5], [0.5, 3.5]]]
    assert keypoint_targets(torch.tensor([[[3.7, 1.2]]]), 5).tolist() == [[1 * 5 + 3]]


def test_caption_net_overfits_a_tiny_batch():
    d = CaptionedScenes("train", 8)
    model = CaptionNet(len(d.vocab), d.tokens.shape[1], hidden=64, width=8)
    assert model(d.images).shape == (8, len(d.vocab), d.tokens.shape[1])
    _overfit(model, d.images, d.tokens, nn.CrossEntropyLoss(ignore_index=0), 150, lr=1e-2)
    assert caption_scores(greedy_captions(model, d.images, d.vocab), d.captions)["exact_match"] == 1.0


def test_gan_steps_run_and_samples_have_the_right_shape():
    g, dnet = Generator(z_dim=8, width=8), Discriminator(width=8)
    result = train_gan(g, dnet, torch.rand(32, 1, 16, 16), epochs=2, batch_size=16, snapshot_epochs=(0, 2),
                       device="cpu")
    assert len(result.g_loss) == 4 and sorted(result.snapshots) == [0, 2]
    s = g.sample(5, seed=1)
    assert s.shape == (5, 1, 16, 16) and 0 <= s.min() and s.max() <= 1
    assert torch.equal(s, g.sample(5, seed=1))
    with pytest.raises(ValueError, match="16, 16"):
        train_gan(g, dnet, torch.rand(4, 1, 8, 8), device="cpu")


def test_discriminator_learns_to_tell_two_fixed_batches_apart():
    real, fake = torch.ones(8, 1, 16, 16) * 0.8, torch.rand(8, 1, 16, 16)
    dnet = Discriminator(width=8)
    x, y = torch.cat([real, fake]), torch.cat([torch.ones(8), torch.zeros(8)])
    _overfit(dnet, x, y, nn.BCEWithLogitsLoss(), 40, lr=1e-2)
    assert ((dnet.eval()(x) > 0).float() == y).all()


def test_style_transfer_lowers_both_losses():
    net = RandomFeatureNet(widths=(8, 8), dilations=(1, 2))
    content, style = torch.rand(3, 16, 16), torch.rand(3, 16, 16) ** 3
    r = style_transfer(net, content, style, steps=60, style_weight=1.0, content_layer=1, lr=0.1, start="noise")
    assert r.image.shape == (3, 16, 16) and 0 <= r.image.min() and r.image.max() <= 1
    assert r.content_loss[-1] < r.content_loss[0] and r.style_loss[-1] < r.style_loss[0]
    with pytest.raises(ValueError, match="start"):
        style_transfer(net, content, style, start="zeros")


def test_style_transfer_from_the_content_takes_the_style_colors():
    net = RandomFeatureNet(widths=(8, 8), dilations=(1, 2))
    g = torch.Generator().manual_seed(0)
    content = torch.rand(3, 16, 16, generator=g) * 0.3                        # dark, greyish
    style = torch.stack([torch.full((16, 16), 0.9), torch.rand(16, 16, generator=g) * 0.3, torch.full((16, 16), 0.2)])
    r = style_transfer(net, content, style, steps=150, style_weight=1e3, content_layer=1, lr=0.1)
    assert r.content_loss[0] < 1e-5  # it starts from the content image (pixels clamped to [0.01, 0.99])
    # independent measure: the per-channel mean color moves most of the way to the style's
    before = (content.mean((1, 2)) - style.mean((1, 2))).abs().sum()
    after = (r.image.mean((1, 2)) - style.mean((1, 2))).abs().sum()
    assert after < 0.5 * before


def test_random_feature_net_is_seeded_and_multi_scale():
    a, b = RandomFeatureNet(seed=3), RandomFeatureNet(seed=3)
    x = torch.rand(2, 3, 20, 20)
    fa = a.features(x)
    assert [tuple(f.shape[1:]) for f in fa] == [(3, 20, 20), (24, 20, 20), (32, 20, 20), (48, 20, 20)]
    assert all(torch.equal(p, q) for p, q in zip(fa, b.features(x)))
    assert not any(p.requires_grad for p in a.parameters())
    assert [conv.dilation for conv in a.layers] == [(1, 1), (2, 2), (4, 4)]
    with pytest.raises(ValueError, match="one dilation per width"):
        RandomFeatureNet(widths=(8, 8), dilations=(1,))


def _flood_fill_regions(mask):
    """Brute-force reference: breadth-first flood fill over 8-neighbours of the same class."""
    h, w = mask.shape
    seen, regions = set(), []
    for r in range(h):
        for c in range(w):
            if mask[r, c] == 0 or (r, c) in seen:
                continue
            todo, region = [(r, c)], set()
            seen.add((r, c))
            while todo:
                y, x = todo.pop()
                region.add((y, x))
                for dy in (-1, 0, 1):
                    for dx in (-1, 0, 1):
                        q = (y + dy, x + dx)
                        if 0 <= q[0] < h and 0 <= q[1] < w and q not in seen and mask[q] == mask[r, c]:
                            seen.add(q)
                            todo.append(q)
            regions.append(region)
    return regions


def test_connected_instances_match_a_flood_fill():
    from cnnlab.beyond.segmentation import connected_instances

    g = torch.Generator().manual_seed(0)
    masks = (torch.rand(6, 12, 12, generator=g) < 0.45) * torch.randint(1, 4, (6, 12, 12), generator=g)
    got = connected_instances(masks)
    for m, inst in zip(masks, got):
        regions = _flood_fill_regions(m.numpy())
        assert int(inst.max()) == len(regions) and bool(((inst == 0) == (m == 0)).all())
        for k, region in enumerate(regions, start=1):   # regions in the order of their first pixel
            assert {tuple(p) for p in (inst == k).nonzero().tolist()} == region
    assert torch.equal(connected_instances(masks[0]), got[0])
    with pytest.raises(ValueError, match="class ids"):
        connected_instances(torch.zeros(2, 2, 3, 3))


def test_nearest_neighbour_distance_sees_near_copies():
    from cnnlab.beyond.gan import nearest_neighbour_distance

    g = torch.Generator().manual_seed(0)
    varied = torch.rand(20, 1, 4, 4, generator=g)
    # reference by brute force
    flat = varied.reshape(20, -1).double()
    brute = np.mean([min(float((flat[i] - flat[j]).norm()) for j in range(20) if j != i) for i in range(20)])
    assert nearest_neighbour_distance(varied) == pytest.approx(brute)
    collapsed = varied[:2].repeat(10, 1, 1, 1) + 0.01 * torch.rand(20, 1, 4, 4, generator=g)
    assert nearest_neighbour_distance(collapsed) < 0.1 * nearest_neighbour_distance(varied)
    with pytest.raises(ValueError, match="at least two"):
        nearest_neighbour_distance(varied[:1])


def _one_cycle_reference(lr: float, steps_per_epoch: int, epochs: int) -> list[float]:
    """The learning rate at the end of each epoch of torch's OneCycleLR stepped after every batch."""
    opt = torch.optim.Adam([nn.Parameter(torch.zeros(1))], lr=lr)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=lr, total_steps=steps_per_epoch * epochs)
    out = []
    for _ in range(epochs):
        for _ in range(steps_per_epoch):
            opt.step()
            sched.step()
        out.append(opt.param_groups[0]["lr"])
    return out


@pytest.mark.parametrize("task", ["captioning", "pose", "verification"])
def test_captioner_pose_and_embedding_train_on_a_one_cycle_schedule(task):
    from cnnlab.beyond.captioning import train_captioner
    from cnnlab.beyond.pose import train_pose
    from cnnlab.beyond.verification import IdentityBatchSampler, train_embedding

    steps = 3
    if task == "captioning":
        d = CaptionedScenes("train", 12)
        _, history = train_captioner(d.images, d.tokens, len(d.vocab), epochs=3, lr=4e-3, batch_size=4, device="cpu")
    elif task == "pose":
        d = StickFigures("train", 12)
        _, history = train_pose(d.images, d.keypoints, epochs=3, width=4, lr=4e-3, batch_size=4, device="cpu")
    else:
        d = SyntheticFaces(n_identities=8, per_identity=4, seed=0)
        steps = len(IdentityBatchSampler(d.labels, 4, 2, 0))
        _, history = train_embedding(d.images, d.labels, epochs=3, lr=4e-3, per_batch=4, per_identity=2, device="cpu")
    expected = _one_cycle_reference(4e-3, steps_per_epoch=steps, epochs=3)
    assert np.allclose(history.lr, expected, rtol=1e-6), (history.lr, expected)
    assert history.lr[-1] < history.lr[0] / 10   # not a constant rate: it anneals
