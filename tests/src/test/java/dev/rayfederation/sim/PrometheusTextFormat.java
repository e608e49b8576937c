package dev.rayfederation.sim;

import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.function.Predicate;
import java.util.regex.Pattern;

/**
 * A strict parser of the Prometheus text exposition format 0.0.4, for tests: anything a conforming scraper could
 * misread is an error that names the line. It checks {@code # HELP} and {@code # TYPE} lines (at most one of each
 * per family, before its first sample, known types only), metric and label names, label value quoting and the only
 * three escapes allowed ({@code \\ \" \n}), values and optional timestamps in the format's number syntax
 * ({@code +Inf}, {@code -Inf}, {@code NaN}; no Java-only forms such as {@code 1d} or hex), that every sample belongs
 * to the family its TYPE line declares (counter: the name; histogram: {@code _bucket}, {@code _sum},
 * {@code _count}; summary: the name, {@code _sum}, {@code _count}), that a family's lines form one group, that no
 * series appears twice, that counters are not negative, and that every histogram series is consistent: {@code le}
 * labels parse and ascend, bucket counts are cumulative, {@code le="+Inf"} exists and equals {@code _count}, and
 * {@code _sum} is present.
 */
final class PrometheusTextFormat {

    private static final Pattern METRIC_NAME = Pattern.compile("[a-zA-Z_:][a-zA-Z0-9_:]*");
    private static final Pattern LABEL_NAME = Pattern.compile("[a-zA-Z_][a-zA-Z0-9_]*");
    private static final Pattern NUMBER =
            Pattern.compile("[+-]?(Inf|NaN|([0-9]+(\\.[0-9]*)?|\\.[0-9]+)([eE][+-]?[0-9]+)?)");
    private static final Pattern TIMESTAMP = Pattern.compile("-?[0-9]{1,19}");
    private static final Set<String> TYPES = Set.of("counter", "gauge", "histogram", "summary", "untyped");

    /** A line the format does not allow, with its 1-based line number. */
    static final class MalformedExposition extends RuntimeException {
        MalformedExposition(int line, String problem, String text) {
            super("line " + line + ": " + problem + ": " + text);
        }

        MalformedExposition(String problem) {
            super(problem);
        }
    }

    /** One sample line. Labels are kept in the order written. */
    record Sample(String name, Map<String, String> labels, double value, Long timestamp) {
    }

    /** A metric family: its TYPE (untyped when none was declared), HELP (null when none) and samples. */
    record Family(String name, String type, String help, List<Sample> samples) {
    }

    /** A parsed exposition. */
    record Scrape(Map<String, Family> families) {

        /** Every sample of every family. */
        List<Sample> samples() {
            List<Sample> all = new ArrayList<>();
            families.values().forEach(f -> all.addAll(f.samples()));
            return all;
        }

        /** The samples named {@code name} (a sample name such as {@code x_count}, not only a family name). */
        List<Sample> samples(String name) {
            return samples().stream().filter(s -> s.name().equals(name)).toList();
        }

        /** The value of the one sample with this name and exactly these labels; fails when there is none. */
        double value(String name, Map<String, String> labels) {
            List<Sample> found = samples(name).stream().filter(s -> s.labels().equals(labels)).toList();
            if (found.isEmpty()) {
                throw new AssertionError("no sample " + name + labels + "; samples of that name: " + samples(name));
            }
            return found.get(0).value();
        }

        /** The sum of the samples with this name whose labels include every given label. */
        double sum(String name, Map<String, String> labels) {
            return samples(name).stream().filter(matching(labels)).mapToDouble(Sample::value).sum();
        }

        /** Sums of the samples with this name whose labels include {@code labels}, grouped by label {@code by}. */
        Map<String, Double> sumBy(String name, String by, Map<String, String> labels) {
            Map<String, Double> out = new TreeMap<>();
            samples(name).stream().filter(matching(labels))
                    .forEach(s -> out.merge(s.labels().get(by), s.value(), Double::sum));
            return out;
        }

        private static Predicate<Sample> matching(Map<String, String> labels) {
            return s -> s.labels().entrySet().containsAll(labels.entrySet());
        }
    }

    private PrometheusTextFormat() {
    }

    /** Parses {@code text}, or throws {@link MalformedExposition} naming the first offending line. */
    static Scrape parse(String text) {
        return new Parser(text).parse();
    }

    private static final class Parser {
        private final String text;
        private final Map<String, String> types = new HashMap<>();
        private final Map<String, String> helps = new HashMap<>();
        private final Map<String, List<Sample>> samples = new LinkedHashMap<>();
        private final Set<String> finishedFamilies = new HashSet<>();
        private final Set<String> series = new HashSet<>();
        private final Map<String, Integer> firstLine = new HashMap<>();
        private String currentFamily;
        private int lineNumber;
        private String line;

        Parser(String text) {
            this.text = text;
        }

        Scrape parse() {
            if (!text.isEmpty() && !text.endsWith("\n")) {
                throw new MalformedExposition("the exposition must end with a line feed");
            }
            String[] lines = text.split("\n", -1);
            for (int i = 0; i < lines.length - 1; i++) {
                lineNumber = i + 1;
                line = lines[i];
                if (line.isBlank()) {
                    continue;
                }
                if (line.startsWith("#")) {
                    comment();
                } else {
                    sample();
                }
            }
            Map<String, Family> families = new LinkedHashMap<>();
            Set<String> names = new HashSet<>(samples.keySet());
            names.addAll(types.keySet());
            names.addAll(helps.keySet());
            List<String> ordered = new ArrayList<>(samples.keySet());
            names.stream().filter(n -> !samples.containsKey(n)).sorted().forEach(ordered::add);
            for (String name : ordered) {
                List<Sample> list = samples.getOrDefault(name, List.of());
                String type = types.getOrDefault(name, "untyped");
                if (type.equals("histogram")) {
                    checkHistogram(name, list);
                }
                families.put(name, new Family(name, type, helps.get(name), List.copyOf(list)));
            }
            return new Scrape(Collections.unmodifiableMap(families));
        }

        private void comment() {
            String[] tokens = line.substring(1).trim().split("[ \t]+", 3);
            boolean help = tokens[0].equals("HELP") && line.startsWith("# HELP ");
            boolean type = tokens[0].equals("TYPE") && line.startsWith("# TYPE ");
            if (!help && !type) {
                if (tokens[0].equals("HELP") || tokens[0].equals("TYPE")) {
                    fail("a " + tokens[0] + " line must start with '# " + tokens[0] + " '");
                }
                return; // a plain comment
            }
            if (tokens.length < 2 || !METRIC_NAME.matcher(tokens[1]).matches()) {
                fail("missing or invalid metric name after " + tokens[0]);
            }
            String name = tokens[1];
            if (samples.containsKey(name)) {
                fail(tokens[0] + " for " + name + " after its samples");
            }
            if (help) {
                if (helps.containsKey(name)) {
                    fail("a second HELP line for " + name);
                }
                String doc = tokens.length == 3 ? tokens[2] : "";
                helps.put(name, unescape(doc, false));
            } else {
                if (types.containsKey(name)) {
                    fail("a second TYPE line for " + name);
                }
                if (tokens.length != 3 || !TYPES.contains(tokens[2])) {
                    fail("TYPE must be one of " + new TreeSet<>(TYPES));
                }
                types.put(name, tokens[2]);
            }
        }

        private void sample() {
            int i = 0;
            while (i < line.length() && isNameChar(line.charAt(i), i == 0)) {
                i++;
            }
            String name = line.substring(0, i);
            if (!METRIC_NAME.matcher(name).matches()) {
                fail("invalid metric name");
            }
            Map<String, String> labels = new LinkedHashMap<>();
            if (i < line.length() && line.charAt(i) == '{') {
                i = labels(i + 1, labels);
            }
            if (i >= line.length() || (line.charAt(i) != ' ' && line.charAt(i) != '\t')) {
                fail("expected a blank before the value");
            }
            String[] rest = line.substring(i).trim().split("[ \t]+");
            if (rest.length == 0 || rest[0].isEmpty() || rest.length > 2) {
                fail("expected a value and an optional timestamp");
            }
            if (!NUMBER.matcher(rest[0]).matches()) {
                fail("'" + rest[0] + "' is not a number in the exposition format");
            }
            double value = number(rest[0]);
            Long timestamp = null;
            if (rest.length == 2) {
                if (!TIMESTAMP.matcher(rest[1]).matches()) {
                    fail("'" + rest[1] + "' is not a timestamp (milliseconds, an integer)");
                }
                timestamp = Long.parseLong(rest[1]);
            }
            String family = familyOf(name, labels);
            if (!family.equals(currentFamily)) {
                if (finishedFamilies.contains(family)) {
                    fail("the samples of " + family + " are not one group");
                }
                if (currentFamily != null) {
                    finishedFamilies.add(currentFamily);
                }
                currentFamily = family;
            }
            Map<String, String> sorted = new TreeMap<>(labels);
            if (!series.add(name + sorted)) {
                fail("duplicate series " + name + sorted);
            }
            if (types.getOrDefault(family, "untyped").equals("counter") && (value < 0 || Double.isNaN(value))) {
                fail("a counter must not be negative or NaN");
            }
            firstLine.putIfAbsent(family, lineNumber);
            samples.computeIfAbsent(family, k -> new ArrayList<>()).add(new Sample(name, labels, value, timestamp));
        }

        /** The family a sample belongs to, checked against its declared TYPE. */
        private String familyOf(String name, Map<String, String> labels) {
            for (String suffix : List.of("_bucket", "_count", "_sum")) {
                if (name.endsWith(suffix)) {
                    String base = name.substring(0, name.length() - suffix.length());
                    String type = types.get(base);
                    if ("histogram".equals(type) || ("summary".equals(type) && !suffix.equals("_bucket"))) {
                        if (suffix.equals("_bucket") && !labels.containsKey("le")) {
                            fail("a histogram bucket without an le label");
                        }
                        return base;
                    }
                }
            }
            String type = types.get(name);
            if ("histogram".equals(type)) {
                fail("a histogram's samples are " + name + "_bucket, _sum and _count, not " + name);
            }
            if ("summary".equals(type) && !labels.containsKey("quantile")) {
                fail("a summary's bare samples need a quantile label");
            }
            return name;
        }

        /** Parses labels after '{' at {@code i}; returns the index after '}'. */
        private int labels(int i, Map<String, String> labels) {
            while (true) {
                if (i >= line.length()) {
                    fail("unterminated label set");
                }
                if (line.charAt(i) == '}') {
                    return i + 1;
                }
                int start = i;
                while (i < line.length() && line.charAt(i) != '=' && line.charAt(i) != '}' && line.charAt(i) != ',') {
                    i++;
                }
                String labelName = line.substring(start, i);
                if (!LABEL_NAME.matcher(labelName).matches() || labelName.startsWith("__")) {
                    fail("invalid label name '" + labelName + "'");
                }
                if (i >= line.length() || line.charAt(i) != '=' || i + 1 >= line.length() || line.charAt(i + 1) != '"') {
                    fail("expected =\"...\" after label " + labelName);
                }
                i += 2;
                StringBuilder raw = new StringBuilder();
                boolean closed = false;
                while (i < line.length()) {
                    char c = line.charAt(i);
                    if (c == '\\') {
                        if (i + 1 >= line.length()) {
                            fail("a backslash at the end of the line");
                        }
                        raw.append(c).append(line.charAt(i + 1));
                        i += 2;
                        continue;
                    }
                    if (c == '"') {
                        closed = true;
                        i++;
                        break;
                    }
                    raw.append(c);
                    i++;
                }
                if (!closed) {
                    fail("unterminated value of label " + labelName);
                }
                if (labels.put(labelName, unescape(raw.toString(), true)) != null) {
                    fail("label " + labelName + " appears twice");
                }
                if (i < line.length() && line.charAt(i) == ',') {
                    i++;
                } else if (i >= line.length() || line.charAt(i) != '}') {
                    fail("expected ',' or '}' after the value of label " + labelName);
                }
            }
        }

        /** Label values allow \\, \" and \n; HELP text allows \\ and \n. Anything else after a backslash is an error. */
        private String unescape(String s, boolean quoteAllowed) {
            StringBuilder out = new StringBuilder();
            for (int i = 0; i < s.length(); i++) {
                char c = s.charAt(i);
                if (c != '\\') {
                    out.append(c);
                    continue;
                }
                char next = i + 1 < s.length() ? s.charAt(i + 1) : 0;
                switch (next) {
                    case '\\' -> out.append('\\');
                    case 'n' -> out.append('\n');
                    case '"' -> {
                        if (!quoteAllowed) {
                            fail("\\\" is not an escape in HELP text");
                        }
                        out.append('"');
                    }
                    default -> fail("invalid escape \\" + (next == 0 ? "" : String.valueOf(next)));
                }
                i++;
            }
            return out.toString();
        }

        private void checkHistogram(String name, List<Sample> list) {
            Map<Map<String, String>, List<Sample>> buckets = new LinkedHashMap<>();
            Map<Map<String, String>, Double> counts = new HashMap<>();
            Set<Map<String, String>> sums = new HashSet<>();
            for (Sample s : list) {
                Map<String, String> key = new TreeMap<>(s.labels());
                key.remove("le");
                if (s.name().equals(name + "_bucket")) {
                    buckets.computeIfAbsent(key, k -> new ArrayList<>()).add(s);
                } else if (s.name().equals(name + "_count")) {
                    counts.put(key, s.value());
                } else if (s.name().equals(name + "_sum")) {
                    sums.add(key);
                }
            }
            Set<Map<String, String>> keys = new HashSet<>(buckets.keySet());
            keys.addAll(counts.keySet());
            keys.addAll(sums);
            for (Map<String, String> key : keys) {
                String where = "histogram " + name + key + " (from line " + firstLine.get(name) + ")";
                List<Sample> bs = buckets.getOrDefault(key, List.of());
                if (!counts.containsKey(key) || !sums.contains(key)) {
                    throw new MalformedExposition(where + ": needs both _sum and _count");
                }
                double previousLe = Double.NEGATIVE_INFINITY;
                double previousCount = 0;
                boolean inf = false;
                for (Sample b : bs) {
                    String le = b.labels().get("le");
                    if (!NUMBER.matcher(le).matches() || Double.isNaN(number(le))) {
                        throw new MalformedExposition(where + ": le=\"" + le + "\" is not a bound");
                    }
                    double bound = number(le);
                    if (bound <= previousLe) {
                        throw new MalformedExposition(where + ": le bounds do not ascend at le=\"" + le + "\"");
                    }
                    if (b.value() < previousCount || b.value() != Math.rint(b.value())) {
                        throw new MalformedExposition(where + ": bucket le=\"" + le + "\" holds " + b.value()
                                + ", not a whole count >= the previous bucket's " + previousCount);
                    }
                    previousLe = bound;
                    previousCount = b.value();
                    inf = bound == Double.POSITIVE_INFINITY;
                }
                if (!inf) {
                    throw new MalformedExposition(where + ": the last bucket must be le=\"+Inf\"");
                }
                if (previousCount != counts.get(key)) {
                    throw new MalformedExposition(where + ": le=\"+Inf\" holds " + previousCount + " but _count is "
                            + counts.get(key));
                }
            }
        }

        private static boolean isNameChar(char c, boolean first) {
            return Character.isLetter(c) && c < 128 || c == '_' || c == ':' || (!first && c >= '0' && c <= '9');
        }

        private static double number(String s) {
            return switch (s) {
                case "+Inf", "Inf" -> Double.POSITIVE_INFINITY;
                case "-Inf" -> Double.NEGATIVE_INFINITY;
                case "NaN", "+NaN", "-NaN" -> Double.NaN;
                default -> Double.parseDouble(s);
            };
        }

        private void fail(String problem) {
            throw new MalformedExposition(lineNumber, problem, line);
        }
    }
}
