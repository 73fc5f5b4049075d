"""Glance JSON-patch semantics and attribute validation (pure logic)."""
from __future__ import annotations

import pytest

from stratus.common import errors
from stratus.image import patch, validation
from stratus.image.patch import V20, ImageState


def state(**props):
    core = {"name": "img", "visibility": "private", "disk_format": "raw",
            "container_format": "bare", "min_disk": 0, "min_ram": 0, "protected": False,
            "os_hidden": False, "owner": "p1"}
    return ImageState(core, dict(props), ["a"])


def test_replace_core_and_add_remove_extra():
    old = state(foo="1")
    new = patch.apply(old, [{"op": "replace", "path": "/name", "value": "n2"},
                            {"op": "add", "path": "/bar", "value": "x"},
                            {"op": "replace", "path": "/foo", "value": "2"},
                            {"op": "remove", "path": "/bar"},
                            {"op": "add", "path": "/min_ram", "value": 512}])
    assert new.core["name"] == "n2" and new.core["min_ram"] == 512
    assert new.properties == {"foo": "2"}
    assert old.properties == {"foo": "1"} and old.core["name"] == "img"   # not mutated


def test_tags_replace_and_dedup():
    new = patch.apply(state(), [{"op": "replace", "path": "/tags", "value": ["x", "y", "x"]}])
    assert new.tags == ["x", "y"]
    assert patch.apply(state(), [{"op": "remove", "path": "/tags"}]).tags == []


def test_old_style_v20_patch():
    new = patch.apply(state(), [{"replace": "/name", "value": "z"}, {"add": "k", "value": "v"}],
                      V20)
    assert new.core["name"] == "z" and new.properties == {"k": "v"}


def test_escaped_pointer():
    new = patch.apply(state(), [{"op": "add", "path": "/a~1b~0c", "value": "v"}])
    assert new.properties == {"a/b~c": "v"}


@pytest.mark.parametrize("path", ["/id", "/status", "/checksum", "/size", "/created_at",
                                  "/os_hash_value", "/virtual_size"])
def test_read_only_is_forbidden(path):
    with pytest.raises(errors.Forbidden, match="read-only"):
        patch.apply(state(), [{"op": "replace", "path": path, "value": "x"}])


@pytest.mark.parametrize("path", ["/self", "/file", "/schema", "/locations",
                                  "/os_glance_foo"])
def test_reserved_is_forbidden(path):
    with pytest.raises(errors.Forbidden, match="reserved"):
        patch.apply(state(), [{"op": "add", "path": path, "value": "x"}])


def test_missing_or_present_extra_property_conflicts():
    with pytest.raises(errors.Conflict, match="does not exist"):
        patch.apply(state(), [{"op": "replace", "path": "/nope", "value": "x"}])
    with pytest.raises(errors.Conflict, match="does not exist"):
        patch.apply(state(), [{"op": "remove", "path": "/nope"}])
    with pytest.raises(errors.Conflict, match="already present"):
        patch.apply(state(foo="1"), [{"op": "add", "path": "/foo", "value": "x"}])


def test_base_attribute_cannot_be_removed():
    with pytest.raises(errors.Forbidden):
        patch.apply(state(), [{"op": "remove", "path": "/name"}])


@pytest.mark.parametrize("change", [
    {"op": "replace", "path": "/disk_format", "value": "floppy"},
    {"op": "replace", "path": "/container_format", "value": "box"},
    {"op": "replace", "path": "/visibility", "value": "everyone"},
    {"op": "replace", "path": "/min_ram", "value": -1},
    {"op": "replace", "path": "/min_disk", "value": "1"},
    {"op": "replace", "path": "/protected", "value": "yes"},
    {"op": "replace", "path": "/name", "value": "n" * 256},
    {"op": "add", "path": "/prop", "value": 5},
    {"op": "replace", "path": "/tags", "value": "notalist"},
    {"op": "move", "path": "/name", "value": "x"},
    {"op": "add", "path": "/name"},
    {"op": "add", "path": "name", "value": "x"},
    {"op": "add", "path": "/a/b", "value": "x"},
    "notadict",
])
def test_bad_changes_are_400(change):
    with pytest.raises(errors.BadRequest):
        patch.apply(state(), [change])


def test_body_must_be_a_list_and_nothing_applied_on_error():
    with pytest.raises(errors.BadRequest):
        patch.apply(state(), {"op": "add"})
    old = state()
    with pytest.raises(errors.BadRequest):
        patch.apply(old, [{"op": "replace", "path": "/name", "value": "ok"},
                          {"op": "replace", "path": "/min_ram", "value": -5}])
    assert old.core["name"] == "img"


def test_check_create_splits_fields():
    fields, props, tags = validation.check_create({
        "name": "a", "disk_format": "qcow2", "container_format": "bare", "tags": ["t"],
        "id": "9B4F8D44-56D3-4D6B-9DB8-6E5A1F0F9C1A", "hw_disk_bus": "virtio"})
    assert fields["id"] == "9b4f8d44-56d3-4d6b-9db8-6e5a1f0f9c1a"
    assert props == {"hw_disk_bus": "virtio"} and tags == ["t"]
    with pytest.raises(errors.BadRequest):
        validation.check_create({"id": "not-a-uuid"})
    with pytest.raises(errors.BadRequest):
        validation.check_create({"disk_format": "floppy"})
    with pytest.raises(errors.Forbidden):
        validation.check_create({"status": "active"})
    with pytest.raises(errors.Forbidden):
        validation.check_create({"os_glance_x": "1"})
    with pytest.raises(errors.BadRequest):
        validation.check_create(["x"])
