"""``/api/v1/unit-boundaries/``: the outlines of the units in the caller's
scope as GeoJSON (RFC 7946). The list is a FeatureCollection (with the usual
``count``/``next``/``previous`` as foreign members), a detail one Feature.
Only units with a boundary are listed; boundaries are set by the import page
(docs/dashboards.md, Maps)."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema, extend_schema_field
from rest_framework import mixins, serializers, viewsets
from rest_framework.response import Response

from civportal.api.pagination import LimitOffsetPagination

from ..boundaries import feature
from ..filtersets import UnitFilterSet
from ..models import Unit

GEOMETRY_SCHEMA = {
    "type": "object",
    "description": "GeoJSON Polygon or MultiPolygon, [longitude, latitude] in WGS 84",
    "properties": {
        "type": {"type": "string", "enum": ["Polygon", "MultiPolygon"]},
        "coordinates": {"type": "array", "items": {"type": "array"}},
    },
    "required": ["type", "coordinates"],
}


@extend_schema_field(GEOMETRY_SCHEMA)
class GeometryField(serializers.JSONField):
    pass


class BoundaryPropertiesSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    code = serializers.CharField()
    name = serializers.CharField()
    kind = serializers.ChoiceField(choices=Unit.Kind.choices)
    parent_code = serializers.CharField(allow_null=True)


class BoundaryFeatureSerializer(serializers.Serializer):
    """A unit as a GeoJSON Feature."""

    type = serializers.ChoiceField(choices=["Feature"])
    id = serializers.IntegerField()
    geometry = GeometryField()
    properties = BoundaryPropertiesSerializer()

    def to_representation(self, instance):
        return feature(instance)


class FeatureCollectionPagination(LimitOffsetPagination):
    def get_paginated_response(self, data):
        return Response({"type": "FeatureCollection", "count": self.count, "next": self.get_next_link(),
                         "previous": self.get_previous_link(), "features": data})

    def get_paginated_response_schema(self, schema):
        return {
            "type": "object",
            "required": ["type", "count", "features"],
            "properties": {
                "type": {"type": "string", "enum": ["FeatureCollection"]},
                "count": {"type": "integer"},
                "next": {"type": "string", "nullable": True, "format": "uri"},
                "previous": {"type": "string", "nullable": True, "format": "uri"},
                "features": schema,
            },
        }


@extend_schema(tags=["units"])
class UnitBoundaryViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """Unit outlines as GeoJSON, scoped to the caller's subtrees (units without a boundary are not listed).
    Filters as for units: ``within``, ``parent``, ``kind``, ``active``, ``q``."""

    queryset = Unit.objects.none()  # the permission class reads the model from here
    serializer_class = BoundaryFeatureSerializer
    filterset_class = UnitFilterSet
    pagination_class = FeatureCollectionPagination
    ordering_fields = ["path", "code", "name"]
    ordering = ["path"]

    def get_queryset(self):
        return Unit.objects.visible_to(self.request.user).filter(boundary__isnull=False).with_parent()
