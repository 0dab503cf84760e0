"""Open311 GeoReport v2 at /open311/v2/: services are finding categories,
service requests are findings (source ``api``). See docs/integrating.md."""
