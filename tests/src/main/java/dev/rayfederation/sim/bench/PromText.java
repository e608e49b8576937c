package dev.rayfederation.sim.bench;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Predicate;

/**
 * One scrape of a Prometheus text exposition ({@code /metrics} of a Kubernetes component): every sample as a metric
 * name, its labels and its value; sums over samples selected by name and labels. Enough for counters and the
 * {@code _sum}/{@code _count} of histograms, which is all the benchmarks read.
 */
final class PromText {

    record Sample(String name, Map<String, String> labels, double value) {
    }

    private final List<Sample> samples;

    private PromText(List<Sample> samples) {
        this.samples = samples;
    }

    static PromText empty() {
        return new PromText(List.of());
    }

    static PromText parse(String text) {
        List<Sample> out = new ArrayList<>();
        for (String line : text.split("\n")) {
            line = line.strip();
            if (line.isEmpty() || line.startsWith("#")) {
                continue;
            }
            try {
                String name;
                Map<String, String> labels = new LinkedHashMap<>();
                String rest;
                int brace = line.indexOf('{');
                int space = line.indexOf(' ');
                if (brace >= 0 && (space < 0 || brace < space)) {
                    name = line.substring(0, brace);
                    int close = line.lastIndexOf('}');
                    parseLabels(line.substring(brace + 1, close), labels);
                    rest = line.substring(close + 1).strip();
                } else {
                    name = line.substring(0, space);
                    rest = line.substring(space + 1).strip();
                }
                String value = rest.split("\\s+")[0];
                out.add(new Sample(name, labels, Double.parseDouble(value.replace("+Inf", "Infinity"))));
            } catch (RuntimeException e) {
                // a line this reader does not understand: not one the benchmarks use
            }
        }
        return new PromText(out);
    }

    private static void parseLabels(String text, Map<String, String> labels) {
        int i = 0;
        while (i < text.length()) {
            int eq = text.indexOf('=', i);
            if (eq < 0) {
                return;
            }
            String key = text.substring(i, eq).strip();
            if (key.startsWith(",")) {
                key = key.substring(1).strip();
            }
            int q = text.indexOf('"', eq);
            StringBuilder v = new StringBuilder();
            int j = q + 1;
            while (j < text.length() && text.charAt(j) != '"') {
                if (text.charAt(j) == '\\' && j + 1 < text.length()) {
                    j++;
                }
                v.append(text.charAt(j));
                j++;
            }
            labels.put(key, v.toString());
            i = j + 1;
            while (i < text.length() && (text.charAt(i) == ',' || text.charAt(i) == ' ')) {
                i++;
            }
        }
    }

    boolean isEmpty() {
        return samples.isEmpty();
    }

    /** The sum of every sample named {@code name} whose labels pass {@code labels}. */
    double sum(String name, Predicate<Map<String, String>> labels) {
        double total = 0;
        for (Sample s : samples) {
            if (s.name().equals(name) && labels.test(s.labels())) {
                total += s.value();
            }
        }
        return total;
    }

    double sum(String name) {
        return sum(name, l -> true);
    }

    /** Labels where {@code key} equals {@code value}. */
    static Predicate<Map<String, String>> label(String key, String value) {
        return l -> value.equals(l.get(key));
    }
}
