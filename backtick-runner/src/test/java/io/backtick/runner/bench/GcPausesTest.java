package io.backtick.runner.bench;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;

class GcPausesTest {

    @Test
    void aCollectionIsRecordedAtTheTimeItHappened() {
        try (GcPauses gc = GcPauses.listen()) {
            long before = System.nanoTime();
            System.gc();

            await().atMost(Duration.ofSeconds(10)).until(() -> !gc.between(before, Long.MAX_VALUE).isEmpty());
            long seen = System.nanoTime();

            List<GcPauses.Pause> pauses = gc.between(before, Long.MAX_VALUE);
            GcPauses.Pause pause = pauses.get(pauses.size() - 1);
            assertThat(pause.startNanos()).isLessThanOrEqualTo(pause.endNanos());
            assertThat(pause.startNanos()).as("not before System.gc() was called")
                    .isGreaterThanOrEqualTo(before - GcPauses.PAD_NANOS);
            assertThat(pause.endNanos()).as("not after it was reported").isLessThanOrEqualTo(seen);
            assertThat(gc.between(seen + 60_000_000_000L, Long.MAX_VALUE)).as("nothing in the future").isEmpty();
        }
    }

    @Test
    void collectorsThatRunAlongsideTheProgramAreNotPauses() {
        assertThat(GcPauses.stopsTheProgram("Copy")).isTrue();
        assertThat(GcPauses.stopsTheProgram("MarkSweepCompact")).isTrue();
        assertThat(GcPauses.stopsTheProgram("G1 Young Generation")).isTrue();
        assertThat(GcPauses.stopsTheProgram("ZGC Pauses")).isTrue();
        assertThat(GcPauses.stopsTheProgram("G1 Concurrent GC")).isFalse();
        assertThat(GcPauses.stopsTheProgram("ZGC Cycles")).isFalse();
        assertThat(GcPauses.stopsTheProgram("Shenandoah Cycles")).isFalse();
    }
}
