//! A fixed set of threads for the CPU-bound part of a request (signature check, RSA
//! signing), fed through a bounded queue.
//!
//! Why not `spawn_blocking` per request: tokio's blocking pool grows a thread for every
//! request that waits (hundreds under load, each with its own stack) and the thread
//! churn shows as tail latency. Here the number of threads is fixed (one per core by
//! default) and at most `queue` jobs are accepted at once; a request beyond that waits,
//! asynchronously, for a slot, so memory stays bounded however many clients push.

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::mpsc::{sync_channel, Receiver, SyncSender};
use std::sync::{Arc, Mutex};

use tokio::sync::{oneshot, OwnedSemaphorePermit, Semaphore};

type Job = Box<dyn FnOnce() + Send + 'static>;

/// Marks the calling thread `SCHED_BATCH` (Linux; elsewhere nothing): its wake-ups no
/// longer preempt the thread running on its core. For the async runtime's threads
/// (`serve` sets it as their start hook): where a CPU worker shares a core with them, a
/// request arriving from the network used to interrupt an RSA signature halfway, some 3.6
/// context switches per request (issue 7); batched, the runtime runs when the worker
/// blocks or its time slice ends and handles every ready connection at once (0.15 switches
/// per request, ~14% more signed answers per CPU second, p99 no worse). A failure leaves
/// the thread as it was.
pub fn batch_io_thread() {
    #[cfg(target_os = "linux")]
    {
        let param = libc::sched_param { sched_priority: 0 };
        // SAFETY: pid 0 is the calling thread; `param` is a valid sched_param that outlives
        // the call; SCHED_BATCH takes priority 0. The call has no other effect on memory.
        let result = unsafe { libc::sched_setscheduler(0, libc::SCHED_BATCH, &param) };
        if result != 0 {
            tracing::debug!(error = %std::io::Error::last_os_error(), "SCHED_BATCH refused");
        }
    }
}

/// Why a job did not run to completion.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PoolError {
    /// The pool is shutting down.
    #[error("the CPU pool is closed")]
    Closed,
    /// The job panicked (the worker survives it).
    #[error("a CPU job panicked")]
    Panicked,
}

/// Worker threads plus the queue that feeds them.
#[derive(Debug)]
pub struct CpuPool {
    jobs: SyncSender<Job>,
    slots: Arc<Semaphore>,
}

impl CpuPool {
    /// Starts `threads` workers (at least one) accepting at most `queue` jobs at once
    /// (at least `threads`).
    pub fn new(threads: usize, queue: usize) -> std::io::Result<CpuPool> {
        let threads = threads.max(1);
        let queue = queue.max(threads);
        let (jobs, receiver) = sync_channel::<Job>(queue);
        let receiver = Arc::new(Mutex::new(receiver));
        for index in 0..threads {
            let receiver = Arc::clone(&receiver);
            std::thread::Builder::new()
                .name(format!("alipay-mock-cpu-{index}"))
                .spawn(move || work(&receiver))?;
        }
        Ok(CpuPool {
            jobs,
            slots: Arc::new(Semaphore::new(queue)),
        })
    }

    /// One worker per core the process may use.
    pub fn per_core() -> std::io::Result<CpuPool> {
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
        CpuPool::new(cores, cores * 64)
    }

    /// The process's pool, one worker per core, started on first use: every gateway in
    /// the process shares it, so a test suite starting a gateway per test starts no
    /// threads per test, and N gateways never run more RSA operations at once than
    /// there are cores. Its threads live as long as the process.
    pub fn shared() -> std::io::Result<Arc<CpuPool>> {
        static SHARED: std::sync::OnceLock<Arc<CpuPool>> = std::sync::OnceLock::new();
        if let Some(pool) = SHARED.get() {
            return Ok(Arc::clone(pool));
        }
        let pool = Arc::new(CpuPool::per_core()?);
        // Two first callers may both start one; the loser's threads end with its senders.
        Ok(Arc::clone(SHARED.get_or_init(|| pool)))
    }

    /// Runs `job` on a worker and waits for its result, first waiting for a free slot
    /// when the queue is full.
    pub async fn run<R: Send + 'static>(
        &self,
        job: impl FnOnce() -> R + Send + 'static,
    ) -> Result<R, PoolError> {
        let slot: OwnedSemaphorePermit = Arc::clone(&self.slots)
            .acquire_owned()
            .await
            .map_err(|_| PoolError::Closed)?;
        let (tx, rx) = oneshot::channel();
        let wrapped: Job = Box::new(move || {
            let result = catch_unwind(AssertUnwindSafe(job));
            // The slot is free once the work is done, before the answer is read.
            drop(slot);
            // The waiting request may have gone (client disconnected): nothing to tell.
            let _ = tx.send(result.map_err(|_| PoolError::Panicked));
        });
        // Never blocks: a slot guarantees room in the channel.
        self.jobs.try_send(wrapped).map_err(|_| PoolError::Closed)?;
        rx.await.map_err(|_| PoolError::Closed)?
    }
}

/// A worker: takes jobs until every sender is gone.
fn work(receiver: &Mutex<Receiver<Job>>) {
    loop {
        // A poisoned lock only means another worker panicked while holding it, which the
        // job wrapper prevents; the receiver itself is intact either way.
        let job = receiver
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .recv();
        match job {
            Ok(job) => job(),
            Err(_) => return,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn jobs_run_on_the_pool_threads_and_return_their_result() {
        let pool = CpuPool::new(2, 4).unwrap();
        let name = pool
            .run(|| std::thread::current().name().map(str::to_owned))
            .await
            .unwrap();
        assert!(name.unwrap().starts_with("alipay-mock-cpu-"));
    }

    #[tokio::test]
    async fn a_panicking_job_is_an_error_and_the_worker_survives() {
        let pool = CpuPool::new(1, 1).unwrap();
        assert_eq!(
            pool.run(|| -> u8 { panic!("boom") }).await,
            Err(PoolError::Panicked)
        );
        assert_eq!(pool.run(|| 7).await, Ok(7));
    }

    #[tokio::test]
    async fn more_jobs_than_slots_wait_and_all_complete() {
        let pool = Arc::new(CpuPool::new(2, 2).unwrap());
        let mut tasks = Vec::new();
        for i in 0..50u64 {
            let pool = Arc::clone(&pool);
            tasks.push(tokio::spawn(async move { pool.run(move || i * 2).await }));
        }
        let mut sum = 0;
        for task in tasks {
            sum += task.await.unwrap().unwrap();
        }
        assert_eq!(sum, (0..50u64).map(|i| i * 2).sum::<u64>());
    }
}
