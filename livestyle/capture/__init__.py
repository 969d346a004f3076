"""Frame sources: camera, video file / URL, image folder, synthetic scene."""
