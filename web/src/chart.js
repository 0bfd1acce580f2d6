// A live uPlot line chart as a preact component: created once per set of
// series (a new priority appearing recreates it), fed with setData after.
import { html } from 'htm/preact';
import { useEffect, useRef } from 'preact/hooks';
import uPlot from 'uplot';

const kAxis = { stroke: '#8b98a9', grid: { stroke: '#243042', width: 1 }, ticks: { stroke: '#243042', width: 1 } };

export function Chart({ title, series, data, height = 170, unit = '', testid }) {
  const box = useRef(null);
  const plot = useRef(null);
  const key = series.map((s) => s.label).join('|');

  useEffect(() => {
    const el = box.current;
    const opts = {
      width: Math.max(el.clientWidth, 200),
      height,
      cursor: { drag: { x: false, y: false } },
      legend: { live: false },
      scales: { x: { time: true } },
      axes: [{ ...kAxis }, { ...kAxis, size: 64, values: (u, ticks) => ticks.map((v) => format(v) + unit) }],
      series: [{}, ...series.map((s) => ({ width: 1.5, points: { show: false }, spanGaps: true, ...s }))],
    };
    plot.current = new uPlot(opts, data, el);
    const resize = new ResizeObserver(() => plot.current && plot.current.setSize({ width: Math.max(el.clientWidth, 200), height }));
    resize.observe(el);
    return () => {
      resize.disconnect();
      plot.current.destroy();
      plot.current = null;
    };
  }, [key, height]);

  useEffect(() => {
    if (plot.current) plot.current.setData(data);
  }, [data]);

  return html`<figure class="chart" data-testid=${testid}>
    <figcaption>${title}</figcaption>
    <div ref=${box}></div>
  </figure>`;
}

function format(v) {
  if (v == null) return '';
  const a = Math.abs(v);
  if (a >= 1e6) return (v / 1e6).toFixed(1) + 'M';
  if (a >= 1e3) return (v / 1e3).toFixed(a >= 1e4 ? 0 : 1) + 'k';
  if (a >= 10 || a === 0) return v.toFixed(0);
  if (a >= 1) return v.toFixed(1);
  return v.toFixed(2);
}
