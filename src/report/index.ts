// report: self-contained HTML pages of run folders and of the demo (above tasks and engine).
export { writeReport, buildRunReport, buildDemoReport, isDemoFolder } from "./report.js";
export { readRun, runSection, runCharts, checkRunFolder, REPORT_LIMITS, type RunData, type RunPicture } from "./run.js";
export { lineChart, type Series, type ChartOptions } from "./chart.js";
export { escapeHtml, page } from "./html.js";
export { machineInfo, flareVersion, type MachineInfo } from "./machine.js";
