"""All tables; importing this registers them on ``Base.metadata``."""
from stratus.db.models import identity  # noqa: F401
