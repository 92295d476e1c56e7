"""Parses the Prometheus text on stdin with prometheus_client's parser (an implementation we did
not write) and prints every sample as JSON: [name, labels, value] per line, families first."""
import json
import sys

from prometheus_client.parser import text_string_to_metric_families

families = list(text_string_to_metric_families(sys.stdin.read()))
print(json.dumps({
    "families": {f.name: f.type for f in families},
    "samples": [[s.name, s.labels, s.value] for f in families for s in f.samples],
}))
