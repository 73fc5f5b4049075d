"""Network tables (Neutron v2.0): owned by the network service work; see stratus/network/."""
from __future__ import annotations
