package io.backtick.runner.bench;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;
import org.junit.jupiter.api.Test;

class LatencyRecorderTest {

    private static final long MS = 1_000_000;

    @Test
    void percentilesAreTheNearestRankOverJobsThatCommittedAndStarted() {
        LatencyRecorder recorder = new LatencyRecorder(101);
        for (int seq = 0; seq < 100; seq++) {
            recorder.committed(seq, 1_000 * MS);
            recorder.started(seq, 1_000 * MS + (seq + 1) * MS); // 1 ms .. 100 ms
        }
        recorder.committed(100, 5 * MS); // never started: not counted

        LatencyRecorder.Latency latency = recorder.summarize(101);

        assertThat(latency.count()).isEqualTo(100);
        assertThat(latency.p50()).isEqualTo(50.0);
        assertThat(latency.p90()).isEqualTo(90.0);
        assertThat(latency.p99()).isEqualTo(99.0);
        assertThat(latency.max()).isEqualTo(100.0);
    }

    @Test
    void jobsWhoseWaitAPauseOverlapsAreCountedApartAndTheRestSummarized() {
        LatencyRecorder recorder = new LatencyRecorder(5);
        job(recorder, 0, 0, 1 * MS);            // long before the pause
        job(recorder, 1, 10 * MS, 12 * MS);     // ends just inside the pause's padding (pause at 13 ms)
        job(recorder, 2, 14 * MS, 30 * MS);     // waits through the pause
        job(recorder, 3, 20 * MS, 21 * MS);     // starts inside the pause's trailing padding (pause ends at 19 ms)
        job(recorder, 4, 40 * MS, 43 * MS);     // well after it
        List<GcPauses.Pause> pauses = List.of(new GcPauses.Pause(13 * MS, 19 * MS));

        LatencyRecorder.GcEffect effect = recorder.gcEffect(5, pauses);

        assertThat(effect.pauses()).isEqualTo(1);
        assertThat(effect.pauseMillis()).isEqualTo(6.0);
        assertThat(effect.longestPauseMillis()).isEqualTo(6.0);
        assertThat(effect.jobsThroughPause()).isEqualTo(3);
        assertThat(effect.clear().count()).isEqualTo(2);
        assertThat(effect.clear().max()).as("the rest: jobs 0 and 4").isEqualTo(3.0);
        assertThat(recorder.summarize(5).max()).as("all jobs").isEqualTo(16.0);
    }

    @Test
    void eachJobIsSetAgainstThePauseNearestItsWait() {
        LatencyRecorder recorder = new LatencyRecorder(3);
        job(recorder, 0, 5 * MS, 6 * MS);       // between the first two pauses, clear of both paddings
        job(recorder, 1, 100 * MS, 102 * MS);   // overlaps the third
        job(recorder, 2, 200 * MS, 201 * MS);   // after every pause
        List<GcPauses.Pause> pauses = List.of(new GcPauses.Pause(0, 2 * MS), new GcPauses.Pause(9 * MS, 10 * MS),
                new GcPauses.Pause(101 * MS, 150 * MS));

        LatencyRecorder.GcEffect effect = recorder.gcEffect(3, pauses);

        assertThat(effect.jobsThroughPause()).isEqualTo(1);
        assertThat(effect.longestPauseMillis()).isEqualTo(49.0);
        assertThat(effect.clear().count()).isEqualTo(2);
        assertThat(effect.clear().max()).isEqualTo(1.0);
    }

    private static void job(LatencyRecorder recorder, int seq, long committed, long started) {
        recorder.committed(seq, committed);
        recorder.started(seq, started);
    }
}
