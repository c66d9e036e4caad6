"""Each lecture-08 model learns a tiny batch by heart (a few dozen optimizer steps on the CPU)."""
from __future__ import annotations

import pytest
import torch
from torch import nn

from cnnlab.beyond import mean_iou, pck
from cnnlab.beyond.captioning import CaptionNet, caption_scores, greedy_captions
from cnnlab.beyond.gan import Discriminator, Generator, train_gan
from cnnlab.beyond.pose import HeatmapLoss, PoseNet, heatmap_peaks, keypoint_targets, predict_keypoints
from cnnlab.beyond.segmentation import TinyUNet, segmentation_data, segmentation_scores
from cnnlab.beyond.style import FeatureNet, style_transfer
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
    net = FeatureNet().eval().requires_grad_(False)
    content, style = torch.rand(3, 16, 16), torch.rand(3, 16, 16) ** 3
    r = style_transfer(net, content, style, steps=60, style_weight=1.0, content_layer=1, lr=0.1)
    assert r.image.shape == (3, 16, 16) and 0 <= r.image.min() and r.image.max() <= 1
    assert r.content_loss[-1] < r.content_loss[0] and r.style_loss[-1] < r.style_loss[0]
    with pytest.raises(ValueError, match="start"):
        style_transfer(net, content, style, start="zeros")
