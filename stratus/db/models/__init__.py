"""All tables; importing this registers them on ``Base.metadata``."""
from stratus.db.models import identity  # noqa: F401
from stratus.db.models import compute  # noqa: F401
from stratus.db.models import image  # noqa: F401
from stratus.db.models import network  # noqa: F401
from stratus.db.models import object_store  # noqa: F401
from stratus.db.models import security_group  # noqa: F401
from stratus.db.models import router  # noqa: F401
from stratus.db.models import qos  # noqa: F401
