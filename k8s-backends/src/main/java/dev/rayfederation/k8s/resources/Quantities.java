package dev.rayfederation.k8s.resources;

import java.math.BigDecimal;
import java.math.RoundingMode;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/** Kubernetes resource quantities ("500m", "8", "32Gi", "1e3") to and from milli-units. */
public final class Quantities {

    private static final Pattern QUANTITY =
            Pattern.compile("^([+-]?[0-9]+(?:\\.[0-9]*)?|[+-]?\\.[0-9]+)(Ki|Mi|Gi|Ti|Pi|Ei|n|u|m|k|M|G|T|P|E|[eE][+-]?[0-9]+)?$");

    private Quantities() {
    }

    /** True when {@code s} is a well-formed Kubernetes quantity. */
    public static boolean isQuantity(String s) {
        return s != null && QUANTITY.matcher(s.trim()).matches();
    }

    /**
     * Milli-units of a quantity, rounded up (Kubernetes rounds requests up too).
     *
     * @throws IllegalArgumentException when the text is not a quantity or does not fit a long
     */
    public static long toMilli(String quantity) {
        if (quantity == null) {
            throw new IllegalArgumentException("quantity is missing");
        }
        Matcher m = QUANTITY.matcher(quantity.trim());
        if (!m.matches()) {
            throw new IllegalArgumentException("'" + quantity + "' is not a Kubernetes quantity (examples: 8, 500m, 32Gi)");
        }
        BigDecimal number = new BigDecimal(m.group(1));
        String suffix = m.group(2) == null ? "" : m.group(2);
        BigDecimal value = number.multiply(multiplier(suffix)).multiply(BigDecimal.valueOf(1000));
        try {
            return value.setScale(0, RoundingMode.CEILING).longValueExact();
        } catch (ArithmeticException e) {
            throw new IllegalArgumentException("'" + quantity + "' is too large");
        }
    }

    /** Milli-units from a plain number (Ray's view: 8 CPUs, 1.5 GPUs, memory in bytes). */
    public static long toMilli(Number n) {
        BigDecimal v = new BigDecimal(n.toString()).multiply(BigDecimal.valueOf(1000));
        try {
            return v.setScale(0, RoundingMode.CEILING).longValueExact();
        } catch (ArithmeticException e) {
            throw new IllegalArgumentException("'" + n + "' is too large");
        }
    }

    /** The shortest exact quantity string for milli-units: 8000 → "8", 500 → "500m", 2^30*1000 → "1Gi". */
    public static String fromMilli(long milli) {
        if (milli % 1000 != 0) {
            return milli + "m";
        }
        long units = milli / 1000;
        String[] bin = {"Ei", "Pi", "Ti", "Gi", "Mi", "Ki"};
        long[] factors = {1L << 60, 1L << 50, 1L << 40, 1L << 30, 1L << 20, 1L << 10};
        if (units != 0) {
            for (int i = 0; i < bin.length; i++) {
                if (Math.abs(units) >= factors[i] && units % factors[i] == 0) {
                    return (units / factors[i]) + bin[i];
                }
            }
        }
        return Long.toString(units);
    }

    private static BigDecimal multiplier(String suffix) {
        switch (suffix) {
            case "":
                return BigDecimal.ONE;
            case "n":
                return new BigDecimal("1e-9");
            case "u":
                return new BigDecimal("1e-6");
            case "m":
                return new BigDecimal("1e-3");
            case "k":
                return new BigDecimal("1e3");
            case "M":
                return new BigDecimal("1e6");
            case "G":
                return new BigDecimal("1e9");
            case "T":
                return new BigDecimal("1e12");
            case "P":
                return new BigDecimal("1e15");
            case "E":
                return new BigDecimal("1e18");
            case "Ki":
                return BigDecimal.valueOf(1L << 10);
            case "Mi":
                return BigDecimal.valueOf(1L << 20);
            case "Gi":
                return BigDecimal.valueOf(1L << 30);
            case "Ti":
                return BigDecimal.valueOf(1L << 40);
            case "Pi":
                return BigDecimal.valueOf(1L << 50);
            case "Ei":
                return BigDecimal.valueOf(1L << 60);
            default:
                // decimal exponent: e3, E-2
                return BigDecimal.ONE.scaleByPowerOfTen(Integer.parseInt(suffix.substring(1)));
        }
    }
}
