"""Image tables (Glance v2): owned by the image service work; see stratus/image/."""
from __future__ import annotations
