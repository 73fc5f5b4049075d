#!/usr/bin/env bash
# The whole test suite: unit and API tests, end-to-end tests through the real
# openstack CLI / openstacksdk against live servers, real VMs and networks in
# namespaces, and the Tempest include-lists (identity, image, compute).
# PostgreSQL tests use STRATUS_TEST_DATABASE_URL when set (they skip with a
# visible reason otherwise).
set -uo pipefail
cd "$(dirname "$0")/.."
status=0
# the default guest image: Tempest's compute tests and the boot tests use it
.venv/bin/stratus image build || status=1
tests/tempest/run.sh || status=1
# Three workers, one test file each at a time: most e2e tests wait on servers,
# agents and VMs, so the two cores stay busy (module fixtures stay per worker).
.venv/bin/pytest -q -n 3 --dist loadfile "$@" tests || status=1
exit $status
