package io.backtick.api;

import java.lang.reflect.Array;
import java.lang.reflect.RecordComponent;
import java.math.BigDecimal;
import java.math.BigInteger;
import java.time.temporal.TemporalAccessor;
import java.util.Iterator;
import java.util.Map;
import java.util.Optional;
import java.util.UUID;

/**
 * Writes job arguments as JSON. The client keeps backtick-api free of dependencies, so it carries
 * this small writer for the values arguments are made of instead of a JSON library: strings,
 * numbers, booleans, null, enums, UUIDs, java.time values (as ISO-8601 strings), records, maps,
 * collections, arrays and {@link Json} (written verbatim). Anything else is refused with a message
 * that says what to pass instead.
 */
final class JsonWriter {

    private JsonWriter() {
    }

    static String write(Object value) {
        StringBuilder out = new StringBuilder(64);
        write(value, out, 0);
        return out.toString();
    }

    private static void write(Object value, StringBuilder out, int depth) {
        if (depth > 100) {
            throw new IllegalArgumentException("job arguments nest deeper than 100 levels (a cycle?)");
        }
        if (value == null) {
            out.append("null");
        } else if (value instanceof Json json) {
            out.append(json.text());
        } else if (value instanceof CharSequence || value instanceof Character || value instanceof UUID
                || value instanceof TemporalAccessor || value instanceof java.time.Duration
                || value instanceof java.time.Period) {
            string(value.toString(), out);
        } else if (value instanceof Boolean) {
            out.append(value);
        } else if (value instanceof Double d) {
            number(d, out);
        } else if (value instanceof Float f) {
            number(f.doubleValue(), out);
        } else if (value instanceof Integer || value instanceof Long || value instanceof Short
                || value instanceof Byte || value instanceof BigInteger) {
            out.append(value);
        } else if (value instanceof BigDecimal decimal) {
            out.append(decimal.toString());
        } else if (value instanceof Enum<?> constant) {
            string(constant.name(), out);
        } else if (value instanceof Optional<?> optional) {
            write(optional.orElse(null), out, depth + 1);
        } else if (value instanceof Map<?, ?> map) {
            out.append('{');
            boolean first = true;
            for (Map.Entry<?, ?> entry : map.entrySet()) {
                if (!first) {
                    out.append(',');
                }
                first = false;
                string(String.valueOf(entry.getKey()), out);
                out.append(':');
                write(entry.getValue(), out, depth + 1);
            }
            out.append('}');
        } else if (value instanceof Iterable<?> iterable) {
            out.append('[');
            Iterator<?> it = iterable.iterator();
            while (it.hasNext()) {
                write(it.next(), out, depth + 1);
                if (it.hasNext()) {
                    out.append(',');
                }
            }
            out.append(']');
        } else if (value.getClass().isArray()) {
            out.append('[');
            int length = Array.getLength(value);
            for (int i = 0; i < length; i++) {
                if (i > 0) {
                    out.append(',');
                }
                write(Array.get(value, i), out, depth + 1);
            }
            out.append(']');
        } else if (value instanceof Record) {
            record(value, out, depth);
        } else {
            throw new IllegalArgumentException("cannot write a " + value.getClass().getName()
                    + " as a job argument: pass a record, map, list, string, number, boolean, or Json.raw(text)");
        }
    }

    private static void record(Object value, StringBuilder out, int depth) {
        out.append('{');
        RecordComponent[] components = value.getClass().getRecordComponents();
        for (int i = 0; i < components.length; i++) {
            if (i > 0) {
                out.append(',');
            }
            string(components[i].getName(), out);
            out.append(':');
            Object component;
            try {
                var accessor = components[i].getAccessor();
                accessor.setAccessible(true);
                component = accessor.invoke(value);
            } catch (ReflectiveOperationException | RuntimeException e) {
                throw new IllegalArgumentException("cannot read component " + components[i].getName()
                        + " of " + value.getClass().getName() + ": " + e, e);
            }
            write(component, out, depth + 1);
        }
        out.append('}');
    }

    private static void number(double d, StringBuilder out) {
        if (Double.isNaN(d) || Double.isInfinite(d)) {
            throw new IllegalArgumentException("JSON has no " + d + ": job arguments must be finite numbers");
        }
        out.append(d);
    }

    static void string(String s, StringBuilder out) {
        out.append('"');
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            switch (c) {
                case '"' -> out.append("\\\"");
                case '\\' -> out.append("\\\\");
                case '\n' -> out.append("\\n");
                case '\r' -> out.append("\\r");
                case '\t' -> out.append("\\t");
                case '\b' -> out.append("\\b");
                case '\f' -> out.append("\\f");
                default -> {
                    if (c < 0x20 || c == 0x2028 || c == 0x2029) {
                        out.append(String.format("\\u%04x", (int) c));
                    } else {
                        out.append(c);
                    }
                }
            }
        }
        out.append('"');
    }
}
