package io.backtick.runner.engine;

import io.backtick.runner.lifecycle.Loop;
import io.backtick.runner.queue.ClaimedJob;
import io.backtick.runner.queue.JobQueue;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.IntSupplier;

/**
 * Claims jobs and hands them to the executor, in one statement per batch.
 *
 * <p>How many it claims follows how fast this runner finishes jobs. A runner holds at most its
 * worker threads plus a prefetch: the jobs it would finish at the rate it has been finishing them
 * in the lookahead ({@link #lookaheadNanos}), never more than two claim batches in all, so that
 * the next claim is on its way while the threads still work through the last one. It claims again
 * once half its places are free, and that half has to last until the claim comes back, its wait
 * for other runners' claims included (claims take turns, see {@link JobQueue#claim}): with four
 * runners on one queue a claim can take longer than the shortest lookahead. Slow jobs get no
 * prefetch (a claimed job does not wait in memory while another runner could run it); short jobs get a deep
 * one, so a claim takes thousands of jobs at a time and the threads never wait for the database.
 * Jobs with large arguments get a shallow one: a prefetch holds at most
 * {@link #PREFETCH_ARGS_CHARS} characters of arguments.
 * A prefetched job waits at most about the lookahead before a thread takes it.
 *
 * <p>It claims nothing while the completer holds more than two claim batches of unwritten outcomes:
 * jobs it claimed then would sit marked running with no way to record their end.
 *
 * <p>A claim starts where the last one that took jobs ended in claim order instead of at the
 * head of the queue ({@link JobQueue#claim(String, String[], int, JobQueue.ClaimPosition)}), so
 * it does not read again the index entries of every job claimed since the table was last
 * vacuumed: with a week of finished jobs kept that can be hundreds of thousands of entries, and
 * every claim on a queue that keeps up (every claim woken by an enqueue) would read them all.
 * (While those are few, on a queue that keeps up, it starts at the head: {@link #CHEAP_HEAD_CLAIM}.)
 * Jobs that become available before that point are claimed by other means:
 * <ul>
 * <li>an enqueue's notification says where its jobs start ({@link #wakeFrom}), so one that
 *     committed late, a higher priority or a run_at in the past is claimed from there at once;
 *     so do the notifications of jobs made available without an insert, by any runner (a retry
 *     or a scheduled job staged, a lost runner's jobs rescued, a stopping runner's handed back:
 *     {@link io.backtick.runner.queue.MadeAvailable}), and this runner's stager and scheduler
 *     tell it directly too;</li>
 * <li>and at least once a second ({@link #HEAD_CLAIM_EVERY}) the producer looks at the head
 *     anyway, for whatever else became available behind that point unannounced: jobs made
 *     available while this runner's notifications were down, or by hand.</li>
 * </ul>
 * A look at the head is a claim from there while the head is quick to read. While it is slow (a
 * transaction left open, a backlog just drained on a table that keeps much history), the
 * {@link Sweeper} looks instead, on a connection of its own and at most so often
 * ({@link #SWEEP_SPACING}), and the claims go on from their point meanwhile: no job waits for
 * the head to be read.
 *
 * <p>When a claim comes back short the queue is drained from where it started, and the producer
 * waits for a {@link Wakeup} (jobs inserted or made available, jobs found behind), the poll interval
 * or the next look at the head, whichever comes first.
 */
public final class Producer extends Loop implements ClaimWake {

    /** How far ahead, in time at the current finishing rate, the producer claims at least. */
    static final Duration LOOKAHEAD = Duration.ofMillis(100);
    /**
     * How far ahead it claims at most, however long its claims take: one claim that waited long
     * (a database that stalled) must not have a runner take seconds of work away from the others.
     */
    static final Duration LOOKAHEAD_MAX = Duration.ofSeconds(1);
    /** While fewer than half the places are free, wait this long for more before claiming, so claims stay batched. */
    private static final long GATHER_MILLIS = 2;
    /** How long to wait before looking again while the completer is behind. */
    private static final long BACKLOG_PAUSE_MILLIS = 20;
    /**
     * At most this many characters of arguments wait in a prefetch: jobs with large arguments get
     * a shallow one, so prefetching never fills the heap.
     */
    static final long PREFETCH_ARGS_CHARS = 16L << 20;
    /**
     * While claims start where the last one ended rather than at the head of the queue, at least
     * this often one starts at the head, so a job that became available behind that point and
     * was not announced (while this runner's notifications were down, or by hand) waits at most
     * this long for it while the producer claims at all (and at most a poll interval while it is idle).
     */
    static final Duration HEAD_CLAIM_EVERY = Duration.ofSeconds(1);
    /**
     * While the head is slow to read ({@link #CHEAP_HEAD_CLAIM}), the {@link Sweeper} looks behind
     * the claims instead of a claim from the head, no more often than once in this many times as
     * long as the last read of the head took: a transaction left open keeps the index entries of
     * every job claimed since it began, and the head grows slower the longer it stays. Looks run
     * off the claim path, so no job waits for one, and cost the server at most 1% of one
     * connection's time; jobs that only a look finds (made available unannounced) wait up to 100
     * times its length: 5 s while looks take 50 ms. (At 20, looks took four times the server's time of claims from the head at 100
     * over ten minutes with a transaction held open, and burn-downs ran slower.)
     */
    static final int SWEEP_SPACING = CostSpacing.FACTOR;
    /**
     * A sweep reports at most this many jobs. Up to this many, and as many as the runner has
     * places for, are claimed by primary key; more than that are claimed from where the first
     * one stands, as a backlog is, reading the entries between them and the claims' point.
     */
    static final int SWEEP_LIMIT = 100;
    /**
     * On a queue that keeps up (the last claim came back short), a claim starts at the head as
     * long as the last read of the head (a claim from there, or a sweep) took less than this, and
     * so do the looks at the head that come once a second or are asked for. Such a head holds
     * few entries of claimed jobs, and a claim from the head marks them dead as it passes, so
     * page splits drop them and the claim index stays compact; claims that resume pass them unmarked (a minute at
     * 1,000 jobs/s left the index at 256 kB against 40 kB), and with four runners each woken by
     * every enqueue they were a little slower (p50 0.32–0.40 ms against 0.25–0.38 ms, six pairs).
     * A head that takes longer holds many: a backlog drained on a table that keeps a week of
     * finished jobs (7–8 ms with 800,000 entries), or a transaction held open (every job claimed
     * since it began): the {@link Sweeper} reads it.
     */
    static final Duration CHEAP_HEAD_CLAIM = Duration.ofMillis(1);
    /** How often the finishing rate is measured. */
    private static final long RATE_WINDOW_NANOS = TimeUnit.MILLISECONDS.toNanos(50);
    /** The shortest stretch of a window over which a rise in the finishing rate is believed. */
    private static final long RISE_SAMPLE_NANOS = TimeUnit.MILLISECONDS.toNanos(5);

    private final JobQueue queue;
    private final JobExecutor executor;
    private final DatabaseHealth health;
    private final String runnerId;
    private final String[] workers;
    private final int threads;
    private final int claimBatch;
    private final Duration pollInterval;
    private final Wakeup wakeup;
    private final RunnerMetrics metrics;
    private final IntSupplier unwrittenOutcomes;
    private final HeldJobs heldJobs;
    /** At least this often a claim starts at the head ({@link #HEAD_CLAIM_EVERY}; tests lengthen it). */
    private final long headClaimEveryNanos;
    /** A claim from the head quicker than this is cheap ({@link #CHEAP_HEAD_CLAIM}; tests set none so). */
    private final long cheapHeadClaimNanos;
    private boolean lastClaimFull;
    /** Jobs claimed by this runner whose attempt has not ended yet: running, or waiting for a thread. */
    private final AtomicInteger attemptsOpen = new AtomicInteger();
    private final AtomicLong finished = new AtomicLong();
    /** While the producer waits for places, an attempt that ends with no more than this many open wakes it. */
    private volatile int wakeBelow = -1;
    private long failurePause = 0;
    private double rate; // jobs finished per second, smoothed
    private double argsChars = 1; // characters of arguments per claimed job, smoothed
    private long rateSince = System.nanoTime();
    private long finishedAtRateSince;
    private double claimNanos; // how long a claim takes, from asking to the rows in hand, smoothed
    /** Where the last claim that took jobs ended; null until one has, and after a failed claim. */
    private JobQueue.ClaimPosition resumeAfter;
    /** The earliest start in claim order announced since the last claim, or null. */
    private final AtomicReference<JobQueue.ClaimPosition> announced = new AtomicReference<>();
    /** Whether a claim should start at the head (a new listening connection, a poll interval without wake-ups). */
    private final AtomicBoolean headWanted = new AtomicBoolean();
    private long headLookedAt; // System.nanoTime() of the last claim from the head or request for a sweep
    /** How long the last read of the head took: a claim from there, or a sweep that reached its point. */
    private volatile long headReadNanos;
    /** Where the available jobs the last sweep found behind the claims stand; null once taken. */
    private final AtomicReference<List<JobQueue.ClaimPosition>> foundBehind = new AtomicReference<>();
    private final Sweeper sweeper;
    private final AtomicLong headClaims = new AtomicLong();
    private final AtomicLong sweeps = new AtomicLong();

    public Producer(JobQueue queue, JobExecutor executor, DatabaseHealth health, String runnerId, String[] workers,
                    int threads, int claimBatch, Duration pollInterval, Wakeup wakeup, RunnerMetrics metrics,
                    IntSupplier unwrittenOutcomes, HeldJobs heldJobs) {
        this(queue, executor, health, runnerId, workers, threads, claimBatch, pollInterval, wakeup, metrics,
                unwrittenOutcomes, heldJobs, HEAD_CLAIM_EVERY, CHEAP_HEAD_CLAIM);
    }

    Producer(JobQueue queue, JobExecutor executor, DatabaseHealth health, String runnerId, String[] workers,
             int threads, int claimBatch, Duration pollInterval, Wakeup wakeup, RunnerMetrics metrics,
             IntSupplier unwrittenOutcomes, HeldJobs heldJobs, Duration headClaimEvery, Duration cheapHeadClaim) {
        super("backtick-producer", Duration.ofSeconds(10));
        this.headClaimEveryNanos = headClaimEvery.toNanos();
        this.cheapHeadClaimNanos = cheapHeadClaim.toNanos();
        this.metrics = metrics;
        this.queue = queue;
        this.executor = executor;
        this.health = health;
        this.runnerId = runnerId;
        this.workers = workers.clone();
        this.threads = threads;
        this.claimBatch = Math.max(claimBatch, threads);
        this.pollInterval = pollInterval;
        this.wakeup = wakeup;
        this.unwrittenOutcomes = unwrittenOutcomes;
        this.heldJobs = heldJobs;
        this.sweeper = new Sweeper(queue, workers, SWEEP_LIMIT, health, this::swept);
    }

    @Override
    public synchronized void start() {
        sweeper.start();
        super.start();
    }

    @Override
    public void stop() {
        super.stop();
        sweeper.stop();
    }

    @Override
    protected void step() throws InterruptedException {
        if (unwrittenOutcomes.getAsInt() >= 2 * claimBatch) {
            // The completer is behind (a slow or absent database): claiming more would only mark
            // more jobs running whose outcomes cannot be written. Let it catch up first.
            wakeup.await(BACKLOG_PAUSE_MILLIS, TimeUnit.MILLISECONDS);
            return;
        }
        int capacity = threads + prefetch();
        int want = capacity - attemptsOpen.get();
        int gather = Math.max(1, capacity / 2);
        if (want < gather) {
            // Few places free: wait for more, briefly if any are free, else until one frees.
            awaitPlaces(capacity - gather, want > 0 ? GATHER_MILLIS : pollInterval.toMillis());
            want = capacity - attemptsOpen.get();
            if (want <= 0) {
                return;
            }
        }
        want = Math.min(want, claimBatch);
        if (!isRunning()) {
            return;
        }

        List<JobQueue.ClaimPosition> behind = foundBehind.getAndSet(null);
        if (behind != null && behind.size() < SWEEP_LIMIT && behind.size() <= want) {
            claimFound(behind);
            return;
        }
        List<ClaimedJob> claimed;
        JobQueue.ClaimPosition after = resumeAfter;
        // Taken before the claim: a wake-up that comes while it runs counts for the next one.
        JobQueue.ClaimPosition start = announced.getAndSet(null);
        if (behind != null) {
            // More jobs behind the claims than a claim by primary key takes: claim them from
            // where the first one stands, as if an enqueue had announced them.
            JobQueue.ClaimPosition first = behind.get(0);
            JobQueue.ClaimPosition before = new JobQueue.ClaimPosition(first.priority(), first.runAt(), first.id() - 1);
            start = start == null || JobQueue.ClaimPosition.ORDER.compare(before, start) < 0 ? before : start;
        }
        try {
            long asked = System.nanoTime();
            long sinceLook = asked - headLookedAt;
            long headRead = headReadNanos;
            if (after != null && headRead >= cheapHeadClaimNanos) {
                // The head is slow to read: the sweeper looks behind the claims, off their path.
                if (sinceLook >= lookSpacing(headClaimEveryNanos, headRead)
                        || headWanted.get() && sinceLook >= SWEEP_SPACING * headRead) {
                    headWanted.set(false);
                    headLookedAt = asked;
                    sweeps.incrementAndGet();
                    sweeper.request(after);
                }
            } else if (sinceLook >= headClaimEveryNanos || headWanted.get() || !lastClaimFull) {
                // The head is cheap (or no claim has taken jobs yet). On a queue that keeps up,
                // claiming there marks the entries of claimed jobs dead as it passes, which keeps
                // the index compact.
                after = null;
            }
            if (after != null && start != null && JobQueue.ClaimPosition.ORDER.compare(start, after) < 0) {
                after = start;
            }
            if (after == null) {
                headWanted.set(false);
            }
            JobQueue.Claim claim = queue.claim(runnerId, workers, want, after);
            long took = System.nanoTime() - asked;
            claimNanos = claimNanos == 0 ? took : (claimNanos + took) / 2;
            if (after == null) {
                headLookedAt = asked;
                headClaims.incrementAndGet();
                headReadNanos = took;
            }
            claimed = claim.jobs();
            lastClaimFull = claimed.size() == want;
            resumeAfter = resumeAfter(claim.end(), lastClaimFull, resumeAfter);
            claimSucceeded();
        } catch (RuntimeException e) {
            resumeAfter = null;
            claimFailed(e);
            return;
        }
        hand(claimed);
        if (claimed.size() < want) {
            // Drained from where the claim started. Wait for jobs; a look at the head that was
            // asked for but put off (those are slow now) comes when it may.
            long waitNanos = pollInterval.toNanos();
            if (headWanted.get()) {
                waitNanos = Math.min(waitNanos, Math.max(0, headLookedAt + SWEEP_SPACING * headReadNanos - System.nanoTime()));
            }
            if (waitNanos > 0 && !wakeup.await(waitNanos, TimeUnit.NANOSECONDS)) {
                // Nothing woke the producer for a whole poll interval: the poll is the fallback
                // that finds every job, so it looks at the head.
                headWanted.set(true);
            }
        }
    }

    /** Claims, by primary key, the jobs a sweep found behind where claims resume. */
    private void claimFound(List<JobQueue.ClaimPosition> behind) throws InterruptedException {
        long[] ids = new long[behind.size()];
        for (int i = 0; i < ids.length; i++) {
            ids[i] = behind.get(i).id();
        }
        List<ClaimedJob> claimed;
        try {
            claimed = queue.claimFound(runnerId, ids);
            claimSucceeded();
        } catch (RuntimeException e) {
            claimFailed(e);
            return;
        }
        hand(claimed);
    }

    private void claimSucceeded() {
        health.ok();
        failurePause = 0;
    }

    private void claimFailed(RuntimeException e) throws InterruptedException {
        health.lost("producer", e);
        failurePause = Math.min(Math.max(failurePause * 2, 100), pollInterval.toMillis() * 5);
        wakeup.await(failurePause, TimeUnit.MILLISECONDS);
    }

    /** Hands claimed jobs to the executor. */
    private void hand(List<ClaimedJob> claimed) {
        heldJobs.claimed(claimed);
        if (!claimed.isEmpty()) {
            long chars = 0;
            for (ClaimedJob job : claimed) {
                chars += job.argsJson().length();
            }
            argsChars = (argsChars + Math.max(1.0, (double) chars / claimed.size())) / 2;
        }
        attemptsOpen.addAndGet(claimed.size());
        metrics.claimed(claimed.size());
        for (ClaimedJob job : claimed) {
            executor.execute(job, this::attemptEnded);
        }
    }

    /** Runs on the sweeper's thread: what it found behind the claims, and how long the head took. */
    private void swept(List<JobQueue.ClaimPosition> jobs, long readNanos) {
        if (readNanos >= 0) {
            headReadNanos = readNanos;
        }
        if (!jobs.isEmpty()) {
            foundBehind.set(jobs);
            wakeup.signal();
        }
    }

    /** Waits until no more than {@code level} jobs are held, or the timeout passes, or a wake-up comes. */
    private void awaitPlaces(int level, long timeoutMillis) throws InterruptedException {
        wakeBelow = level;
        try {
            if (attemptsOpen.get() > level) {
                wakeup.await(timeoutMillis, TimeUnit.MILLISECONDS);
            }
        } finally {
            wakeBelow = -1;
        }
    }

    /** Runs on a worker thread when an attempt has ended and its outcome has been handed over. */
    private void attemptEnded() {
        finished.incrementAndGet();
        if (attemptsOpen.decrementAndGet() <= wakeBelow) {
            wakeup.signal();
        }
    }

    /** Extra jobs to hold beyond the threads: what this runner finishes in the lookahead. */
    private int prefetch() {
        long now = System.nanoTime();
        long elapsed = now - rateSince;
        if (elapsed >= RATE_WINDOW_NANOS) {
            long done = finished.get();
            double recent = (done - finishedAtRateSince) * 1e9 / elapsed;
            rate = rate == 0 ? recent : (rate + recent) / 2;
            rateSince = now;
            finishedAtRateSince = done;
        } else if (elapsed >= RISE_SAMPLE_NANOS) {
            // A rising rate is followed at once, a falling one only window by window: a runner that
            // meets a backlog of short jobs claims deep within milliseconds, not after several
            // windows. Only once more jobs ended than twice the threads, though: slow jobs that
            // started together end together, a burst that says nothing about their length.
            long ended = finished.get() - finishedAtRateSince;
            if (ended > 2L * threads) {
                rate = Math.max(rate, ended * 1e9 / elapsed);
            }
        }
        long ahead = Math.round(rate * lookaheadNanos(claimNanos) / 1e9);
        long fits = (long) (PREFETCH_ARGS_CHARS / argsChars);
        return (int) Math.min(Math.min(ahead, fits), 2L * claimBatch - threads);
    }

    /**
     * How far ahead to claim when claims take {@code claimNanos}: twice that, so the half of the
     * places still held when the next claim goes out lasts until it comes back, within
     * {@link #LOOKAHEAD} and {@link #LOOKAHEAD_MAX}.
     */
    static long lookaheadNanos(double claimNanos) {
        return Math.min(LOOKAHEAD_MAX.toNanos(), Math.max(LOOKAHEAD.toNanos(), Math.round(2 * claimNanos)));
    }

    /**
     * Where the claim after one that ended at {@code end} ({@code null}: it took nothing) starts,
     * when the one before that started after {@code previous}. A full claim may have left jobs
     * after its end; a short one took every job after where it started, so the next one starts
     * after whichever of its end and the previous point comes later in claim order (a claim from
     * a point an enqueue announced behind it may have ended before it).
     */
    static JobQueue.ClaimPosition resumeAfter(JobQueue.ClaimPosition end, boolean full, JobQueue.ClaimPosition previous) {
        if (end == null) {
            return previous;
        }
        if (full || previous == null) {
            return end;
        }
        return JobQueue.ClaimPosition.ORDER.compare(end, previous) >= 0 ? end : previous;
    }

    /**
     * How long after the sweeper's last look, whose read of the head took {@code readNanos}, it
     * looks again, when looks come at least every {@code everyNanos}.
     */
    static long lookSpacing(long everyNanos, long readNanos) {
        return CostSpacing.nanos(everyNanos, readNanos);
    }

    /** How many claims started at the head of the queue (for tests). */
    long headClaims() {
        return headClaims.get();
    }

    /** How many looks behind the claims were asked of the sweeper (for tests). */
    long sweeps() {
        return sweeps.get();
    }

    /** Jobs this runner holds now: running or waiting for a thread. */
    int heldCount() {
        return attemptsOpen.get();
    }

    /** Claim again now rather than at the next poll: jobs may be ready after where the last claim ended. */
    @Override
    public void wake() {
        wakeup.signal();
    }

    @Override
    public void wakeFrom(JobQueue.ClaimPosition start) {
        announced.accumulateAndGet(start, (a, b) -> a == null || JobQueue.ClaimPosition.ORDER.compare(b, a) < 0 ? b : a);
        wakeup.signal();
    }

    @Override
    public void wakeFromHead() {
        headWanted.set(true);
        wakeup.signal();
    }
}
