"""What did the network learn? Saliency, Grad-CAM, occlusion, adversarial examples, feature visualisation.

One module per method; every function runs the model in eval mode and puts its previous mode back,
removes the hooks it adds (also on errors), and follows the input's device and dtype.

* ``saliency`` – ``input_gradient``, ``saliency_map`` (max |d score / d pixel| over the channels);
* ``gradcam`` – ``grad_cam`` and ``grad_cam_parts`` (the activations, gradients and weights behind a map);
* ``occlusion`` – ``occlusion_map`` (mean drop of the class score under a sliding patch), ``patch_positions``;
* ``adversarial`` – ``fgsm`` and ``accuracy_under_attack``;
* ``feature_vis`` – ``visualize_channels`` (gradient ascent on the input, one image per channel).
"""
from __future__ import annotations

from .adversarial import accuracy_under_attack, fgsm
from .feature_vis import ChannelVisualization, visualize_channels
from .gradcam import GradCamParts, grad_cam, grad_cam_parts
from .occlusion import occlusion_map, patch_positions
from .saliency import input_gradient, saliency_map

__all__ = ["ChannelVisualization", "GradCamParts", "accuracy_under_attack", "fgsm", "grad_cam", "grad_cam_parts",
           "input_gradient", "occlusion_map", "patch_positions", "saliency_map", "visualize_channels"]
