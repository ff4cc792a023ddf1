//! Logging from many processes through one writer: every record arrives, once, as one whole
//! line that names its process and pid.
use std::io::{self, Write};
use std::process::ExitCode;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use multiprocessing::Process;
use multiprocessing::logging::{LogSender, LogWriter};
use testbed::wait::DEADLINE;

mod support;

const WORKERS: usize = 4;
const RECORDS: usize = 300;
const PAYLOAD: usize = 200;

fn main() -> ExitCode {
    multiprocessing::init();
    support::run(
        tests![every_record_arrives_whole_and_attributed,],
        Duration::from_secs(90),
    )
}

/// What the writer writes to, readable by the test.
#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Write for Captured {
    fn write(&mut self, bytes: &[u8]) -> io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(bytes);
        Ok(bytes.len())
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

fn log_records(sender: LogSender) {
    sender.install().expect("install the forwarding subscriber");
    let name = multiprocessing::current_process_name();
    for i in 0..RECORDS {
        tracing::info!(payload = "x".repeat(PAYLOAD), "{name} record {i}");
    }
}

fn every_record_arrives_whole_and_attributed() {
    let captured = Captured::default();
    let writer = LogWriter::start(captured.clone()).unwrap();
    let workers: Vec<_> = (0..WORKERS)
        .map(|i| {
            Process::builder()
                .name(format!("worker-{i}"))
                .daemon(true)
                .spawn(log_records, writer.sender())
                .unwrap()
        })
        .collect();
    let mut pids = Vec::new();
    for mut worker in workers {
        pids.push((worker.name().to_string(), worker.pid()));
        match worker.join_timeout(DEADLINE) {
            Ok(Some(())) => {}
            other => panic!(
                "{} did not finish cleanly: {:?}",
                worker.name(),
                other.err()
            ),
        }
    }
    let stats = writer.finish(DEADLINE).unwrap();
    assert_eq!(
        stats.records as usize,
        WORKERS * RECORDS,
        "records were lost"
    );

    let text = String::from_utf8(captured.0.lock().unwrap().clone()).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), WORKERS * RECORDS, "lines were lost or split");
    let payload = format!(" payload={}", "x".repeat(PAYLOAD));
    for (name, pid) in &pids {
        let prefix = format!(" INFO  {name} (pid {pid}) logging: {name} record ");
        let mut seen: Vec<usize> = lines
            .iter()
            .filter_map(|line| line.split_once(&prefix))
            .map(|(_, rest)| {
                let number = rest
                    .strip_suffix(&payload)
                    .unwrap_or_else(|| panic!("torn: {rest}"));
                number
                    .parse()
                    .unwrap_or_else(|_| panic!("mangled line: {rest}"))
            })
            .collect();
        seen.sort();
        assert_eq!(
            seen,
            (0..RECORDS).collect::<Vec<_>>(),
            "records of {name} (pid {pid})"
        );
    }
}
