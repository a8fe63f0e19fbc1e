export * from './state-cache';
export * from './state-fetcher';
export { Semaphore, sharedSemaphore, type Priority, type Release, type SemaphoreTicket } from './semaphore';
