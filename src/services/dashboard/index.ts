/**
 * The dashboard's live feed: one computation of the panels per change and range, shared by every
 * open dashboard, and the newest lines of the log file. Reads the metrics side, never the chat.
 */
export { createDashboard, type Dashboard, type DashboardData, type DashboardOptions, type MetricsPanels } from './feed.ts'
export { createLogTail, type LogLine, type LogTail, type LogTailService } from './log-tail.ts'
