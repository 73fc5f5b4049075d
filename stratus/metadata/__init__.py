"""The metadata service (169.254.169.254): the control-plane service that
answers each VM with its own documents (service.py, documents.py) and the
per-host proxy in the DHCP namespaces that forwards to it (proxy.py).
Design: docs/design/metadata.md."""
