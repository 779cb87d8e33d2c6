"""LeVAsa Explorer's web service (FastAPI). Start it with ``python -m backend`` or ``make serve``."""
