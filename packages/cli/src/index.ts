export { main, USAGE, type Io } from './main.js';
export { doctor, formatDoctor, type DoctorReport } from './doctor.js';
