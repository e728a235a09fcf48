"""Code shared by the flows in flows/. Installed in the image on PYTHONPATH."""
