//! A `metrics` recorder for tests: every counter and histogram handle is an atomic the test can
//! read back by name and label. Histograms count their samples.
// no_alloc.rs installs the recorder without reading it back.
#![allow(dead_code)]

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use metrics::{
    Counter, Gauge, Histogram, HistogramFn, Key, KeyName, Metadata, Recorder, SharedString, Unit,
};
use parking_lot::Mutex;

#[derive(Default)]
struct Samples(AtomicU64);

impl HistogramFn for Samples {
    fn record(&self, _value: f64) {
        self.0.fetch_add(1, Ordering::Relaxed);
    }
}

/// The recorder.
#[derive(Default)]
pub(crate) struct TestRecorder {
    counters: Mutex<Vec<(Key, Arc<AtomicU64>)>>,
    histograms: Mutex<Vec<(Key, Arc<Samples>)>>,
}

impl TestRecorder {
    /// The sum of the counters named `name` whose labels include `label` (any with `None`).
    pub(crate) fn counter(&self, name: &str, label: Option<(&str, &str)>) -> u64 {
        self.counters
            .lock()
            .iter()
            .filter(|(k, _)| k.name() == name)
            .filter(|(k, _)| {
                label.is_none_or(|(lk, lv)| k.labels().any(|l| l.key() == lk && l.value() == lv))
            })
            .map(|(_, v)| v.load(Ordering::Relaxed))
            .sum()
    }

    /// Samples recorded by the histograms named `name`.
    pub(crate) fn samples(&self, name: &str) -> u64 {
        self.histograms
            .lock()
            .iter()
            .filter(|(k, _)| k.name() == name)
            .map(|(_, v)| v.0.load(Ordering::Relaxed))
            .sum()
    }

    /// Every label value registered, to check none holds a secret.
    pub(crate) fn label_values(&self) -> Vec<String> {
        self.counters
            .lock()
            .iter()
            .flat_map(|(k, _)| k.labels().map(|l| l.value().to_owned()).collect::<Vec<_>>())
            .collect()
    }
}

impl Recorder for TestRecorder {
    fn describe_counter(&self, _: KeyName, _: Option<Unit>, _: SharedString) {}
    fn describe_gauge(&self, _: KeyName, _: Option<Unit>, _: SharedString) {}
    fn describe_histogram(&self, _: KeyName, _: Option<Unit>, _: SharedString) {}

    fn register_counter(&self, key: &Key, _: &Metadata<'_>) -> Counter {
        let cell = Arc::new(AtomicU64::new(0));
        self.counters.lock().push((key.clone(), Arc::clone(&cell)));
        Counter::from_arc(cell)
    }

    fn register_gauge(&self, _: &Key, _: &Metadata<'_>) -> Gauge {
        Gauge::noop()
    }

    fn register_histogram(&self, key: &Key, _: &Metadata<'_>) -> Histogram {
        let cell = Arc::new(Samples::default());
        self.histograms
            .lock()
            .push((key.clone(), Arc::clone(&cell)));
        Histogram::from_arc(cell)
    }
}
