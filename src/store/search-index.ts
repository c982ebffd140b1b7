// placeholder: implemented in the next commit (indexResource, SEARCH_PARAMETERS)
export {};
