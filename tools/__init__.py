"""Training side: VGG19 losses, Gatys optimizer, teacher targets, trainer, ONNX export (needs the `train` extra)."""
