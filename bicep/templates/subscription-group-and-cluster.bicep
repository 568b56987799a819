// At subscription scope: a resource group, then the cluster-with-identity
// module deployed into it.
targetScope = 'subscription'

param groupName string
param location string = 'eastus2'
param clusterName string

resource group 'Microsoft.Resources/resourceGroups@2025-04-01' = {
  name: groupName
  location: location
}

module cluster 'cluster-with-identity.bicep' = {
  name: 'cluster'
  scope: group
  params: {
    clusterName: clusterName
    location: location
  }
}

output clusterId string = cluster.outputs.clusterId
