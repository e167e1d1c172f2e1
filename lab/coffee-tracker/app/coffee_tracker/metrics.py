"""A minimal Prometheus registry rendering the text exposition format (version 0.0.4)."""
from __future__ import annotations

import threading
from collections.abc import Iterable

LabelValues = tuple[str, ...]


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')


def _labels(names: Iterable[str], values: Iterable[str], extra: str = "") -> str:
    parts = [f'{name}="{_escape(value)}"' for name, value in zip(names, values)]
    if extra:
        parts.append(extra)
    return "{" + ",".join(parts) + "}" if parts else ""


def _number(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else repr(value)


class Counter:
    def __init__(self, name: str, help_text: str, labelnames: tuple[str, ...] = ()) -> None:
        self.name, self.help_text, self.labelnames = name, help_text, labelnames
        self._values: dict[LabelValues, float] = {}
        self._lock = threading.Lock()
        if not labelnames:
            self._values[()] = 0.0

    def inc(self, amount: float, *labelvalues: str) -> None:
        with self._lock:
            self._values[labelvalues] = self._values.get(labelvalues, 0.0) + amount

    def render(self) -> list[str]:
        lines = [f"# HELP {self.name} {self.help_text}", f"# TYPE {self.name} counter"]
        with self._lock:
            items = sorted(self._values.items())
        lines += [f"{self.name}{_labels(self.labelnames, k)} {_number(v)}" for k, v in items]
        return lines


class Gauge(Counter):
    def set(self, value: float, *labelvalues: str) -> None:
        with self._lock:
            self._values[labelvalues] = value

    def render(self) -> list[str]:
        lines = super().render()
        lines[1] = f"# TYPE {self.name} gauge"
        return lines


class Histogram:
    DEFAULT_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)

    def __init__(self, name: str, help_text: str, labelnames: tuple[str, ...] = (),
                 buckets: tuple[float, ...] = DEFAULT_BUCKETS) -> None:
        self.name, self.help_text, self.labelnames, self.buckets = name, help_text, labelnames, buckets
        self._series: dict[LabelValues, list[float]] = {}  # bucket counts..., sum, count
        self._lock = threading.Lock()

    def observe(self, value: float, *labelvalues: str) -> None:
        with self._lock:
            series = self._series.setdefault(labelvalues, [0.0] * (len(self.buckets) + 2))
            for index, bound in enumerate(self.buckets):
                if value <= bound:
                    series[index] += 1
            series[-2] += value
            series[-1] += 1

    def render(self) -> list[str]:
        lines = [f"# HELP {self.name} {self.help_text}", f"# TYPE {self.name} histogram"]
        with self._lock:
            items = sorted((k, list(v)) for k, v in self._series.items())
        for key, series in items:
            for bound, count in zip(self.buckets, series):
                le = _labels(self.labelnames, key, f'le="{bound}"')
                lines.append(f"{self.name}_bucket{le} {_number(count)}")
            inf = _labels(self.labelnames, key, 'le="+Inf"')
            lines.append(f"{self.name}_bucket{inf} {_number(series[-1])}")
            lines.append(f"{self.name}_sum{_labels(self.labelnames, key)} {series[-2]!r}")
            lines.append(f"{self.name}_count{_labels(self.labelnames, key)} {_number(series[-1])}")
        return lines


class Registry:
    def __init__(self) -> None:
        self.http_requests = Counter(
            "http_requests_total", "HTTP requests by method, route and status.",
            ("method", "path", "status"))
        self.http_duration = Histogram(
            "http_request_duration_seconds", "HTTP request latency by method and route.",
            ("method", "path"))
        self.coffee_logged = Counter("coffee_logged_total", "Coffees logged, by type.", ("type",))
        self.caffeine_mg = Counter("caffeine_mg_total", "Caffeine logged, in milligrams.")
        self.heartrate_logged = Counter("heartrate_logged_total", "Heart rate readings logged.")
        self.rate_limited = Counter(
            "rate_limited_total", "Requests refused by the rate limiter, by backend.", ("backend",))
        self.audit_failures = Counter(
            "audit_write_failures_total", "Audit events that could not be written to SQLite.")
        self.app_info = Gauge("app_info", "Build information of the running app.", ("version",))

    def render(self) -> str:
        families = (self.app_info, self.http_requests, self.http_duration, self.coffee_logged,
                    self.caffeine_mg, self.heartrate_logged, self.rate_limited, self.audit_failures)
        lines: list[str] = []
        for family in families:
            lines += family.render()
        return "\n".join(lines) + "\n"
