import { defineStatistic } from './statistic.js';
import { ksTwoSample } from './ks/two-sample.js';

/** The drift verdict: the two-sample Kolmogorov–Smirnov test, its p-value as scipy.stats.ks_2samp(method='auto') (see ks/two-sample.ts). */
export const ks = defineStatistic({
  name: 'ks',
  title: 'Kolmogorov–Smirnov test',
  description:
    "Two-sample Kolmogorov–Smirnov test: D, the largest distance between the two empirical CDFs, and its two-sided p-value as scipy.stats.ks_2samp(method='auto') (exact up to 10 000 values a side, asymptotic above).",
  role: 'verdict',
  compute(refSorted, curSorted) {
    const r = ksTwoSample(refSorted, curSorted, { method: 'auto', presorted: true });
    return { statistic: r.statistic, pValue: r.pValue, method: r.method };
  },
  fields: {
    statistic: { type: 'number', description: 'KS statistic D: the largest distance between the two empirical CDFs' },
    pValue: { type: 'number', description: 'Two-sided KS p-value, as scipy.stats.ks_2samp(method="auto")' },
    method: { type: 'enum', values: ['exact', 'asymp'], description: 'KS p-value method used' },
  },
  mlflow: { statistic: 'ks_statistic' },
  display: { field: 'statistic', label: 'D', hint: 'KS statistic', format: (d) => d.toFixed(4) },
});
