package io.backtick.runner.engine;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JavaType;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.datatype.jsr310.JavaTimeModule;
import io.backtick.api.Json;
import java.lang.reflect.Constructor;
import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.RecordComponent;
import java.util.Arrays;
import java.util.Collection;
import java.util.concurrent.ConcurrentHashMap;
import java.util.stream.Collectors;

/**
 * Binds a job's stored arguments (always a JSON array) to the type its worker declares:
 * <ul>
 *   <li>{@link Json}: the array's text, unparsed;</li>
 *   <li>{@link Void}: nothing (a worker that takes no arguments);</li>
 *   <li>a collection or array type: the whole array;</li>
 *   <li>a record: positional arguments fill its components in order ({@code [3, 4]} makes
 *       {@code Sum(3, 4)}), or a single JSON object binds by component name;</li>
 *   <li>any other type: the array's one element.</li>
 * </ul>
 * Arguments that do not fit are an {@link ArgumentBindingException}: retrying cannot fix them.
 */
public final class ArgumentBinder {

    private final ObjectMapper mapper = new ObjectMapper()
            .registerModule(new JavaTimeModule())
            // A field added to or dropped from an argument record must not strand jobs already queued.
            .disable(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES)
            .enable(DeserializationFeature.FAIL_ON_NULL_FOR_PRIMITIVES);

    private final ConcurrentHashMap<Class<?>, RecordShape> records = new ConcurrentHashMap<>();

    public Object bind(String argsJson, Class<?> type) throws ArgumentBindingException {
        if (type == Json.class) {
            return Json.raw(argsJson);
        }
        if (type == Void.class) {
            return null;
        }
        ArrayNode args = parse(argsJson);
        try {
            if (Collection.class.isAssignableFrom(type) || type.isArray()) {
                return mapper.convertValue(args, type);
            }
            if (type.isRecord()) {
                return bindRecord(args, type);
            }
            if (args.size() != 1) {
                throw new ArgumentBindingException("worker takes one argument of type " + type.getSimpleName()
                        + " but the job has " + args.size());
            }
            return mapper.convertValue(args.get(0), type);
        } catch (IllegalArgumentException e) {
            throw new ArgumentBindingException("arguments " + abbreviate(argsJson) + " do not bind to "
                    + type.getSimpleName() + ": " + firstLine(e.getMessage()), e);
        }
    }

    private ArrayNode parse(String argsJson) throws ArgumentBindingException {
        JsonNode tree;
        try {
            tree = mapper.readTree(argsJson);
        } catch (JsonProcessingException e) {
            throw new ArgumentBindingException("arguments are not valid JSON: " + firstLine(e.getOriginalMessage()), e);
        }
        if (tree instanceof ArrayNode array) {
            return array;
        }
        return mapper.createArrayNode().add(tree);
    }

    private Object bindRecord(ArrayNode args, Class<?> type) throws ArgumentBindingException {
        RecordShape shape = records.computeIfAbsent(type, RecordShape::new);
        int n = shape.components.length;
        // One JSON object binds by component name, unless the record's only component is itself
        // bound from an object: then the object is that component's value.
        if (args.size() == 1 && args.get(0).isObject() && !(n == 1 && shape.isObjectLike(0))) {
            return mapper.convertValue(args.get(0), type);
        }
        if (args.size() != n) {
            throw new ArgumentBindingException("worker takes " + n + " argument" + (n == 1 ? "" : "s") + " ("
                    + shape.describe() + ") but the job has " + args.size());
        }
        Object[] values = new Object[n];
        for (int i = 0; i < n; i++) {
            try {
                values[i] = mapper.convertValue(args.get(i), shape.types[i]);
            } catch (IllegalArgumentException e) {
                throw new ArgumentBindingException("argument " + (i + 1) + " (" + shape.components[i].getName() + ") "
                        + abbreviate(args.get(i).toString()) + " does not bind to "
                        + shape.components[i].getType().getSimpleName() + ": " + firstLine(e.getMessage()), e);
            }
        }
        try {
            return shape.constructor.newInstance(values);
        } catch (InvocationTargetException e) {
            Throwable cause = e.getCause();
            throw new ArgumentBindingException(type.getSimpleName() + " rejected the arguments: " + cause, cause);
        } catch (ReflectiveOperationException e) {
            throw new ArgumentBindingException("cannot construct " + type.getName() + ": " + e, e);
        }
    }

    /** A record's components, their Jackson types and its canonical constructor, looked up once. */
    private final class RecordShape {
        final RecordComponent[] components;
        final JavaType[] types;
        final Constructor<?> constructor;

        private RecordShape(Class<?> type) {
            components = type.getRecordComponents();
            types = Arrays.stream(components)
                    .map(c -> mapper.getTypeFactory().constructType(c.getGenericType()))
                    .toArray(JavaType[]::new);
            try {
                constructor = type.getDeclaredConstructor(
                        Arrays.stream(components).map(RecordComponent::getType).toArray(Class<?>[]::new));
                constructor.setAccessible(true);
            } catch (ReflectiveOperationException | RuntimeException e) {
                throw new IllegalStateException("record " + type.getName() + " has no usable canonical constructor", e);
            }
        }

        /** Whether component {@code i} is itself bound from a JSON object (a record, map or bean). */
        boolean isObjectLike(int i) {
            JavaType t = types[i];
            return t.isMapLikeType() || t.isRecordType()
                    || !(t.isPrimitive() || t.isContainerType() || t.isEnumType()
                         || t.getRawClass().getName().startsWith("java."));
        }

        String describe() {
            return Arrays.stream(components).map(c -> c.getType().getSimpleName() + " " + c.getName())
                    .collect(Collectors.joining(", "));
        }
    }

    private static String abbreviate(String s) {
        return s.length() <= 120 ? s : s.substring(0, 117) + "...";
    }

    private static String firstLine(String s) {
        if (s == null) {
            return "";
        }
        int nl = s.indexOf('\n');
        return nl < 0 ? s : s.substring(0, nl);
    }
}
