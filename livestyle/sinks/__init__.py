"""Frame sinks: preview window, virtual camera, video file, image folder, MJPEG HTTP stream."""
