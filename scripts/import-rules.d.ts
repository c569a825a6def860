export declare const IMPORT_RULES: Record<string, { imports: string[]; typesOnly?: string[] }>;
export declare const PACKAGES: string[];
