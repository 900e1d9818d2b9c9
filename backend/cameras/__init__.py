"""Cameras (明厨亮灶): the live kitchen's cameras, the streaming server's callbacks, signed
playback, status, uptime and snapshots."""
