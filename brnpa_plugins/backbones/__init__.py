"""Backbone families: stride surgery and feature layers, one file a family.

``to_high_resolution(model)`` raises the resolution of the last feature
maps of any registered family (spec section 1), ``feature_layer(model)``
names the layer saliency methods read. The built-in families, each in its
own module and registered through the ``brnpa_register_backbones`` hook like
a third-party family: ``resnet`` (torchvision, torchreid, mmpretrain
ResNets), ``pooling`` (few-shot ResNet-12 and Conv-4), ``convnext``, ``vit``
(ViT, DeiT) and ``swin`` (mmpretrain). Importing this package imports none
of them; the plugin manager does when a family is first asked for.
"""
from .family import (BackboneFamily, FeatureLayer, backbone_families,
                     feature_layer, last_output_stage, remove_final_norm,
                     to_high_resolution, token_grid)

__all__ = ['BackboneFamily', 'FeatureLayer', 'backbone_families',
           'feature_layer', 'last_output_stage', 'remove_final_norm',
           'to_high_resolution', 'token_grid']
