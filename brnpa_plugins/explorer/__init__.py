"""The interactive part explorer: ``brnpa explore``.

:mod:`.session` computes everything the page shows (models, explanations,
saliency methods, interventions), with no user interface; :mod:`.app` wires
it into a gradio page (the optional extra ``brnpa-plugins[explorer]``).
Importing this package imports neither gradio nor mmpretrain.
"""
