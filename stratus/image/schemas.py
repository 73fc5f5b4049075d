"""The JSON schemas Glance publishes at /v2/schemas/* (clients such as
python-glanceclient read them to know which attributes exist)."""
from __future__ import annotations

from stratus.image.api import (CONTAINER_FORMATS, DISK_FORMATS, MEMBER_STATUSES, STATUSES,
                               VISIBILITIES)


def _nullable(kind: str, **extra) -> dict:
    return {"type": [kind, "null"], **extra}


def image() -> dict:
    ro = {"readOnly": True}
    props = {
        "id": {"type": "string", "description": "An identifier for the image",
               "pattern": "^([0-9a-fA-F]){8}-([0-9a-fA-F]){4}-([0-9a-fA-F]){4}"
                          "-([0-9a-fA-F]){4}-([0-9a-fA-F]){12}$"},
        "name": _nullable("string", maxLength=255,
                          description="Descriptive name for the image"),
        "status": {"type": "string", "enum": list(STATUSES), **ro,
                   "description": "Status of the image"},
        "visibility": {"type": "string", "enum": list(VISIBILITIES),
                       "description": "Scope of image accessibility"},
        "protected": {"type": "boolean",
                      "description": "If true, image will not be deletable."},
        "os_hidden": {"type": "boolean",
                      "description": "If true, image will not appear in default listings."},
        "checksum": _nullable("string", maxLength=32, **ro,
                              description="md5 hash of image contents."),
        "os_hash_algo": _nullable("string", maxLength=64, **ro,
                                  description="Algorithm to calculate the os_hash_value"),
        "os_hash_value": _nullable("string", maxLength=128, **ro,
                                   description="Hexdigest of the image contents"),
        "owner": _nullable("string", maxLength=255,
                           description="Owner of the image"),
        "size": _nullable("integer", **ro, description="Size of image file in bytes"),
        "virtual_size": _nullable("integer", **ro,
                                  description="Virtual size of image in bytes"),
        "container_format": {"type": ["null", "string"],
                             "enum": [None] + list(CONTAINER_FORMATS),
                             "description": "Format of the container"},
        "disk_format": {"type": ["null", "string"], "enum": [None] + list(DISK_FORMATS),
                        "description": "Format of the disk"},
        "created_at": {"type": "string", **ro,
                       "description": "Date and time of image registration"},
        "updated_at": {"type": "string", **ro,
                       "description": "Date and time of the last image modification"},
        "tags": {"type": "array", "items": {"type": "string", "maxLength": 255},
                 "description": "List of strings related to the image"},
        "min_ram": {"type": "integer", "description": "Amount of ram (in MB) required to "
                                                      "boot image."},
        "min_disk": {"type": "integer", "description": "Amount of disk space (in GB) "
                                                       "required to boot image."},
        "self": {"type": "string", **ro, "description": "An image self url"},
        "file": {"type": "string", **ro, "description": "An image file url"},
        "schema": {"type": "string", **ro, "description": "An image schema url"},
    }
    return {"name": "image", "properties": props,
            "additionalProperties": {"type": "string"},
            "links": [{"rel": "self", "href": "{self}"},
                      {"rel": "enclosure", "href": "{file}"},
                      {"rel": "describedby", "href": "{schema}"}]}


def images() -> dict:
    return {"name": "images",
            "properties": {"images": {"type": "array", "items": image()},
                           "schema": {"type": "string"}, "first": {"type": "string"},
                           "next": {"type": "string"}},
            "links": [{"rel": "first", "href": "{first}"}, {"rel": "next", "href": "{next}"},
                      {"rel": "describedby", "href": "{schema}"}]}


def member() -> dict:
    return {"name": "member", "properties": {
        "created_at": {"type": "string", "description": "Date and time of image member "
                                                        "creation"},
        "image_id": {"type": "string", "description": "An identifier for the image"},
        "member_id": {"type": "string", "description": "An identifier for the image member "
                                                       "(tenantId)"},
        "schema": {"type": "string", "readOnly": True},
        "status": {"type": "string", "enum": list(MEMBER_STATUSES),
                   "description": "The status of this image member"},
        "updated_at": {"type": "string", "description": "Date and time of last modification "
                                                        "of image member"}}}


def members() -> dict:
    return {"name": "members",
            "properties": {"members": {"type": "array", "items": member()},
                           "schema": {"type": "string"}},
            "links": [{"rel": "describedby", "href": "{schema}"}]}
