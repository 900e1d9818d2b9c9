"""Live kitchen (明厨亮灶): cameras, stream authorisation, playback and uptime."""
