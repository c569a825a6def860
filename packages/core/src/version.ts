/** The core version plugins declare compatibility with (`powerx: ">=1.0.0 <2.0.0"`). */
export const CORE_VERSION = '1.4.0';
