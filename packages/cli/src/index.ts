export { main, USAGE, type Io } from './main.js';
export { doctor, formatDoctor, type DoctorReport } from './doctor.js';
export { runDemo, parseDemoArgs, formatDemo, DemoError, type DemoOptions, type DemoReport, type DemoPhase } from './demo.js';
