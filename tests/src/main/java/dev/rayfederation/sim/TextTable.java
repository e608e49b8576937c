package dev.rayfederation.sim;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/** A plain-text table with left-aligned columns, for terminal output. */
public final class TextTable {

    private final List<String> header;
    private final List<List<String>> rows = new ArrayList<>();

    public TextTable(String... header) {
        this.header = Arrays.asList(header);
    }

    public TextTable row(Object... cells) {
        List<String> r = new ArrayList<>();
        for (Object c : cells) {
            r.add(c == null ? "-" : c.toString());
        }
        rows.add(r);
        return this;
    }

    public boolean isEmpty() {
        return rows.isEmpty();
    }

    /** The table, each line indented by {@code indent}, ending with a newline. */
    public String render(String indent) {
        int[] width = new int[header.size()];
        for (int i = 0; i < header.size(); i++) {
            width[i] = header.get(i).length();
            for (List<String> r : rows) {
                if (i < r.size()) {
                    width[i] = Math.max(width[i], r.get(i).length());
                }
            }
        }
        StringBuilder out = new StringBuilder();
        line(out, indent, header, width);
        List<String> rule = new ArrayList<>();
        for (int w : width) {
            rule.add("-".repeat(w));
        }
        line(out, indent, rule, width);
        for (List<String> r : rows) {
            line(out, indent, r, width);
        }
        return out.toString();
    }

    private static void line(StringBuilder out, String indent, List<String> cells, int[] width) {
        StringBuilder l = new StringBuilder(indent);
        for (int i = 0; i < width.length; i++) {
            String c = i < cells.size() ? cells.get(i) : "";
            l.append(c);
            if (i < width.length - 1) {
                l.append(" ".repeat(width[i] - c.length() + 2));
            }
        }
        out.append(l.toString().stripTrailing()).append('\n');
    }
}
