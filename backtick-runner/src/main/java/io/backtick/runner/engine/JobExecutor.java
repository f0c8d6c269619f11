package io.backtick.runner.engine;

import io.backtick.api.JobContext;
import io.backtick.runner.config.Durations;
import io.backtick.runner.lifecycle.NamedThreadFactory;
import io.backtick.runner.lifecycle.Service;
import io.backtick.runner.plugin.WorkerDefinition;
import io.backtick.runner.plugin.WorkerRegistry;
import io.backtick.runner.queue.AttemptError;
import io.backtick.runner.queue.ClaimedJob;
import io.backtick.runner.queue.Outcome;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.ScheduledThreadPoolExecutor;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.slf4j.MDC;

/**
 * Runs claimed jobs on a fixed pool of named threads and hands each attempt's {@link Outcome} to
 * the completer. The producer hands over at most a short prefetch beyond the free threads, which
 * waits in the pool's queue; on stop, what waits there goes back to the queue unstarted. User code may throw anything, {@link Error}s included: the thread survives
 * and the failure is recorded on the job.
 */
public final class JobExecutor implements Service {

    private static final Logger log = LoggerFactory.getLogger(JobExecutor.class);

    private final WorkerRegistry workers;
    private final ArgumentBinder binder = new ArgumentBinder();
    private final Completer completer;
    private final Backoff backoff;
    private final Duration defaultTimeout;
    private final Clock clock;
    private final int threads;
    private final RunnerMetrics metrics;
    private final Map<Long, RunningJob> running = new ConcurrentHashMap<>();
    private final Map<String, Logger> workerLoggers = new ConcurrentHashMap<>();
    private final java.util.concurrent.atomic.AtomicInteger lostThreads = new java.util.concurrent.atomic.AtomicInteger();
    /** How long a timed-out job has, after its interrupt, to return before its thread is given up. */
    static final Duration ABANDON_AFTER = Duration.ofSeconds(5);
    private ThreadPoolExecutor pool;
    private ScheduledExecutorService timer;
    private volatile boolean stopping;

    public JobExecutor(WorkerRegistry workers, Completer completer, Backoff backoff, Duration defaultTimeout,
                       int threads, Clock clock, RunnerMetrics metrics) {
        this.metrics = metrics;
        this.workers = workers;
        this.completer = completer;
        this.backoff = backoff;
        this.defaultTimeout = defaultTimeout;
        this.threads = threads;
        this.clock = clock;
    }

    @Override
    public synchronized void start() {
        if (pool != null) {
            return;
        }
        // Daemon threads: a job that ignores every interrupt must not keep the JVM alive after stop.
        pool = new ThreadPoolExecutor(threads, threads, 0, TimeUnit.MILLISECONDS, new LinkedBlockingQueue<>(),
                new NamedThreadFactory("backtick-worker", true));
        ScheduledThreadPoolExecutor t = new ScheduledThreadPoolExecutor(1, new NamedThreadFactory("backtick-timeouts", true));
        t.setRemoveOnCancelPolicy(true);
        timer = t;
    }

    /**
     * Runs {@code job} on the next free thread; {@code done} runs once its outcome has been handed
     * over. Jobs handed over while every thread is busy wait in the pool's queue, in claim order.
     */
    public void execute(ClaimedJob job, Runnable done) {
        pool.execute(new Attempt(job, done));
    }

    /** One claimed job's turn on a worker thread. */
    private final class Attempt implements Runnable {
        final ClaimedJob job;
        final Runnable done;

        Attempt(ClaimedJob job, Runnable done) {
            this.job = job;
            this.done = new Once(done);
        }

        @Override
        public void run() {
            try {
                long started = System.nanoTime();
                Outcome outcome = JobExecutor.this.run(job, done);
                metrics.ran(job.worker(), Duration.ofNanos(System.nanoTime() - started));
                if (outcome != null) {
                    submit(outcome);
                }
            } finally {
                done.run();
            }
        }

        /** Hands the job back without running it: the runner is stopping. */
        void handBack() {
            submit(Outcome.release(job.id(), job.attempt()));
            done.run();
        }
    }

    private void submit(Outcome outcome) {
        metrics.finished(outcome);
        completer.submit(outcome);
    }

    /** How many threads are held by timed-out jobs that ignore interruption. */
    public int lostThreads() {
        return lostThreads.get();
    }

    /** Runs a task at most once, from whichever thread gets there first. */
    private static final class Once implements Runnable {
        private final java.util.concurrent.atomic.AtomicReference<Runnable> task;

        Once(Runnable task) {
            this.task = new java.util.concurrent.atomic.AtomicReference<>(task);
        }

        @Override
        public void run() {
            Runnable t = task.getAndSet(null);
            if (t != null) {
                t.run();
            }
        }
    }

    /** How many jobs are running now. */
    public int runningCount() {
        return running.size();
    }

    /** Runs one attempt; returns its outcome, or null if the attempt was abandoned and its outcome already handed over. */
    private Outcome run(ClaimedJob job, Runnable releaseSlot) {
        WorkerDefinition worker = workers.find(job.worker()).orElse(null);
        if (worker == null) {
            // Cannot happen: the producer claims only jobs of workers in the registry.
            return fail(job, "unknown-worker", new IllegalStateException("this runner has no worker " + job.worker()), true);
        }
        Thread thread = Thread.currentThread();
        RunningJob current = new RunningJob(job, thread, releaseSlot,
                worker.options().timeout().orElse(defaultTimeout));
        running.put(job.id(), current);
        ClassLoader previousLoader = thread.getContextClassLoader();
        thread.setContextClassLoader(worker.worker().getClass().getClassLoader());
        MDC.put("job", Long.toString(job.id()));
        MDC.put("attempt", Integer.toString(job.attempt()));
        ScheduledFuture<?> timeout = null;
        try {
            Object args;
            try {
                args = binder.bind(job.argsJson(), worker.argsType());
            } catch (ArgumentBindingException e) {
                log.warn("Job {} ({}) discarded: {}", job.id(), job.worker(), e.getMessage());
                return fail(job, "binding", e, true);
            }
            Duration limit = worker.options().timeout().orElse(defaultTimeout);
            if (limit != null) {
                timeout = timer.schedule(current::timeOut, limit.toMillis(), TimeUnit.MILLISECONDS);
            }
            if (stopping) {
                return Outcome.release(job.id(), job.attempt());
            }
            worker.worker().perform(args, current.context(worker));
            if (!current.settled.compareAndSet(false, true)) {
                return null; // abandoned after a timeout: its outcome is already written
            }
            if (current.cancelled) {
                return Outcome.cancel(job.id(), job.attempt());
            }
            return Outcome.completed(job.id(), job.attempt());
        } catch (Throwable e) {
            if (!current.settled.compareAndSet(false, true)) {
                return null; // abandoned after a timeout: its outcome is already written
            }
            if (current.cancelled) {
                log.info("Job {} ({}) was cancelled while it ran", job.id(), job.worker());
                return Outcome.cancel(job.id(), job.attempt());
            }
            if (current.timedOut) {
                Duration limit = worker.options().timeout().orElse(defaultTimeout);
                TimeoutException timedOut = new TimeoutException("timed out after " + Durations.format(limit));
                timedOut.initCause(e);
                log.warn("Job {} ({}) timed out after {}", job.id(), job.worker(), Durations.format(limit));
                return fail(job, "timeout", timedOut, false);
            }
            if (stopping && (e instanceof InterruptedException || thread.isInterrupted())) {
                return Outcome.release(job.id(), job.attempt());
            }
            log.warn("Job {} ({}) failed on attempt {} of {}: {}", job.id(), job.worker(), job.attempt(),
                    job.maxAttempts(), e.toString());
            return fail(job, e instanceof Error ? "error" : "exception", e, false);
        } finally {
            if (timeout != null) {
                timeout.cancel(false);
            }
            running.remove(job.id());
            if (current.abandoned) {
                // The job came back after all: its thread returns to the pool, which shrinks again.
                lostThreads.decrementAndGet();
                resizePool(-1);
                log.warn("Job {} ({}) returned {} after it was abandoned; its thread is back", job.id(), job.worker(),
                        Durations.format(Duration.between(current.started, Instant.now())));
            }
            Thread.interrupted(); // an interrupt meant for this job must not reach the next one
            MDC.remove("job");
            MDC.remove("attempt");
            thread.setContextClassLoader(previousLoader);
        }
    }

    private Outcome fail(ClaimedJob job, String kind, Throwable error, boolean permanent) {
        AttemptError recorded = AttemptError.of(job.attempt(), Instant.now(clock), kind, error);
        if (permanent || job.attempt() >= job.maxAttempts()) {
            return Outcome.discard(job.id(), job.attempt(), recorded);
        }
        return Outcome.retry(job.id(), job.attempt(), backoff.after(job.attempt()), recorded);
    }

    /**
     * Stops taking jobs and gives running ones {@code grace} to finish; then interrupts them, and
     * any that still do not return are handed back to the queue without using up an attempt.
     */
    @Override
    public void stop() {
        stop(Duration.ZERO);
    }

    public void stop(Duration grace) {
        ThreadPoolExecutor p;
        synchronized (this) {
            p = pool;
        }
        if (p == null || p.isTerminated()) {
            return;
        }
        p.shutdown();
        // Jobs claimed ahead that no thread has started go back to the queue at once, attempt unspent.
        List<Runnable> waiting = new ArrayList<>();
        p.getQueue().drainTo(waiting);
        for (Runnable attempt : waiting) {
            ((Attempt) attempt).handBack();
        }
        if (!waiting.isEmpty()) {
            log.info("Handed {} claimed job(s) that had not started back to the queue", waiting.size());
        }
        try {
            if (!p.awaitTermination(grace.toMillis(), TimeUnit.MILLISECONDS)) {
                stopping = true;
                running.values().forEach(RunningJob::requestStop);
                log.info("{} job(s) still running after the {} grace period; interrupting them", running.size(),
                        Durations.format(grace));
                p.shutdownNow().forEach(attempt -> ((Attempt) attempt).handBack());
                if (!p.awaitTermination(5, TimeUnit.SECONDS)) {
                    for (RunningJob stuck : running.values()) {
                        if (stuck.settled.compareAndSet(false, true)) {
                            log.warn("Job {} ({}) ignores interruption; handing it back to the queue",
                                    stuck.job.id(), stuck.job.worker());
                            submit(Outcome.release(stuck.job.id(), stuck.job.attempt()));
                        }
                    }
                }
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } finally {
            timer.shutdownNow();
        }
    }

    /** Asks running jobs to stop ({@link JobContext#stopRequested()}), before the grace period starts. */
    public void requestStop() {
        running.values().forEach(RunningJob::requestStop);
    }

    /**
     * Tells the named running jobs they were cancelled: their context reports it, and each is
     * recorded as cancelled when it returns. Returns how many of them run here.
     */
    public int cancel(java.util.Collection<Long> jobIds) {
        int found = 0;
        for (Long id : jobIds) {
            RunningJob job = running.get(id);
            if (job != null && !job.cancelled) {
                job.cancelled = true;
                found++;
            }
        }
        return found;
    }

    /**
     * A timed-out job that ignored its interrupt for {@link #ABANDON_AFTER}: its failure is recorded
     * now, its slot is freed and the pool grows by a thread so the runner keeps its concurrency.
     * The stuck thread is counted as lost until (if ever) it returns.
     */
    private void abandon(RunningJob job) {
        if (!job.settled.compareAndSet(false, true)) {
            return; // it returned in time
        }
        job.abandoned = true;
        int lost = lostThreads.incrementAndGet();
        resizePool(+1);
        TimeoutException timedOut = new TimeoutException("timed out after " + Durations.format(job.limit)
                + " and ignored its interrupt; its thread was given up");
        log.error("Job {} ({}) timed out after {} and ignores interruption: recorded as failed, its thread given up "
                + "({} lost thread(s) now)", job.job.id(), job.job.worker(), Durations.format(job.limit), lost);
        submit(fail(job.job, "timeout", timedOut, false));
        job.releaseSlot.run();
    }

    private synchronized void resizePool(int delta) {
        ThreadPoolExecutor p = pool;
        int size = p.getMaximumPoolSize() + delta;
        if (delta > 0) {
            p.setMaximumPoolSize(size);
            p.setCorePoolSize(size);
        } else {
            p.setCorePoolSize(size);
            p.setMaximumPoolSize(size);
        }
    }

    /** One attempt in progress: its thread, and the flags the runner sets on it. */
    private final class RunningJob {
        final ClaimedJob job;
        final Thread thread;
        volatile boolean timedOut;
        final Runnable releaseSlot;
        final Duration limit;
        final Instant started = Instant.now();
        volatile boolean stopRequested;
        volatile boolean cancelled;
        volatile boolean abandoned;
        /** Set once by whoever decides the attempt's outcome: the job's own thread, or {@link #abandon}. */
        final java.util.concurrent.atomic.AtomicBoolean settled = new java.util.concurrent.atomic.AtomicBoolean();

        RunningJob(ClaimedJob job, Thread thread, Runnable releaseSlot, Duration limit) {
            this.job = job;
            this.thread = thread;
            this.releaseSlot = releaseSlot;
            this.limit = limit;
        }

        void timeOut() {
            timedOut = true;
            thread.interrupt();
            timer.schedule(() -> abandon(this), ABANDON_AFTER.toMillis(), TimeUnit.MILLISECONDS);
        }

        void requestStop() {
            stopRequested = true;
        }

        JobContext context(WorkerDefinition worker) {
            Logger logger = workerLoggers.computeIfAbsent(worker.name(),
                    name -> LoggerFactory.getLogger("backtick.worker." + name));
            return new JobContext() {
                @Override
                public long jobId() {
                    return job.id();
                }

                @Override
                public String worker() {
                    return job.worker();
                }

                @Override
                public String queue() {
                    return job.queue();
                }

                @Override
                public int attempt() {
                    return job.attempt();
                }

                @Override
                public int maxAttempts() {
                    return job.maxAttempts();
                }

                @Override
                public Instant createdAt() {
                    return job.createdAt();
                }

                @Override
                public java.util.Optional<Instant> scheduledFor() {
                    return java.util.Optional.ofNullable(job.scheduleTick());
                }

                @Override
                public Logger logger() {
                    return logger;
                }

                @Override
                public boolean stopRequested() {
                    return stopRequested || stopping || timedOut || cancelled;
                }

                @Override
                public String toString() {
                    return "JobContext[job=" + job.id() + ", worker=" + job.worker() + ", attempt=" + job.attempt() + "]";
                }
            };
        }
    }
}
